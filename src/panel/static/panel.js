// porttrigger panel: count-downs, the notice while the live connection is down, refused switches. No inline script
// anywhere.
(() => {
  function formatSeconds(total) {
    if (total <= 0) return 'closing';
    const h = Math.floor(total / 3600);
    const m = Math.floor((total % 3600) / 60);
    const s = total % 60;
    if (total < 60) return s + ' s';
    return [h ? h + ' h' : '', m ? m + ' min' : '', s ? s + ' s' : ''].filter(Boolean).join(' ');
  }

  // The server's clock counts: each count-down carries the server time it was rendered at.
  function tick() {
    const now = Date.now();
    for (const el of document.querySelectorAll('.countdown[data-expires]')) {
      if (el.ptOffset === undefined) el.ptOffset = Number(el.dataset.now) - now;
      const left = Math.round((Number(el.dataset.expires) - (now + el.ptOffset)) / 1000);
      el.textContent = formatSeconds(left);
    }
  }
  setInterval(tick, 1000);

  // A refused switch answers with its error status and the notice to show: swap it like a success. A session
  // that ended answers 401 in plain text: sign in again.
  document.addEventListener('htmx:beforeSwap', (event) => {
    const { xhr, elt } = event.detail;
    if (xhr.status < 400 || !elt.closest('[data-swap-errors]')) return;
    if (xhr.status === 401) {
      window.location.assign('/sign-in');
      return;
    }
    if ((xhr.getResponseHeader('content-type') || '').startsWith('text/html')) {
      event.detail.shouldSwap = true;
      event.detail.isError = false;
    }
  });

  // The live table's pushed rows replace a row of the same id (data-upsert): a push may repeat what the page
  // shows already.
  document.addEventListener('htmx:oobBeforeSwap', (event) => {
    const { target, fragment } = event.detail;
    if (!target.hasAttribute('data-upsert') || !fragment) return;
    for (const child of fragment.children) {
      if (child.id) document.getElementById(child.id)?.remove();
    }
  });

  let lost = false;
  function banner(show) {
    const el = document.getElementById('connection');
    if (el) el.hidden = !show;
  }
  document.addEventListener('htmx:sseError', () => {
    lost = true;
    banner(true);
  });
  document.addEventListener('htmx:sseOpen', () => {
    banner(false);
    // Whatever happened while the stream was down: fetch every live part again.
    if (lost && window.htmx) window.htmx.trigger(document.body, 'catchup');
    lost = false;
  });
})();
