/** The frame of every panel page: head with the local assets, navigation, the connection notice. */
import type { Child } from 'hono/jsx';

/** The pages of the navigation. */
export type PageId = 'overview' | 'rules' | 'table' | 'learn' | 'check' | 'history';

const NAV: readonly { id: PageId; href: string; label: string }[] = [
  { id: 'overview', href: '/', label: 'Overview' },
  { id: 'rules', href: '/rules', label: 'Rules' },
  { id: 'table', href: '/table', label: 'Live table' },
  { id: 'learn', href: '/learn', label: 'Find ports' },
  { id: 'check', href: '/check', label: 'Port check' },
  { id: 'history', href: '/history', label: 'History' },
];

// htmx must not add an inline <style> (CSP style-src 'self') nor evaluate attribute code.
const HTMX_CONFIG = JSON.stringify({
  includeIndicatorStyles: false,
  allowEval: false,
  allowScriptTags: false,
  historyCacheSize: 0,
});

/** Props of {@link Layout}. */
export interface LayoutProps {
  readonly title: string;
  readonly page?: PageId;
  /** Absent on the sign-in page. */
  readonly csrf?: string;
  readonly notice?: { readonly kind: 'ok' | 'error'; readonly text: string } | undefined;
  /** The page's event stream (default `/events`). */
  readonly stream?: string;
  readonly children?: Child;
}

/** A full page. */
export function Layout(props: LayoutProps) {
  const signedIn = props.csrf !== undefined;
  return (
    <html lang="en">
      <head>
        <meta charset="utf-8" />
        <meta name="viewport" content="width=device-width, initial-scale=1" />
        <meta name="htmx-config" content={HTMX_CONFIG} />
        <title>{`${props.title} · porttrigger`}</title>
        <link rel="stylesheet" href="/assets/panel.css" />
        <script src="/assets/htmx.min.js" defer />
        <script src="/assets/sse.min.js" defer />
        <script src="/assets/panel.js" defer />
      </head>
      <body hx-headers={signedIn ? JSON.stringify({ 'X-CSRF-Token': props.csrf }) : undefined}>
        <a class="skip" href="#main">
          Skip to content
        </a>
        <header class="top">
          <span class="brand">porttrigger</span>
          {signedIn && (
            <nav aria-label="Main">
              <ul>
                {NAV.map((n) => (
                  <li>
                    <a href={n.href} aria-current={n.id === props.page ? 'page' : undefined}>
                      {n.label}
                    </a>
                  </li>
                ))}
              </ul>
            </nav>
          )}
          {signedIn && (
            <form method="post" action="/sign-out" class="sign-out">
              <input type="hidden" name="_csrf" value={props.csrf} />
              <button type="submit">Sign out</button>
            </form>
          )}
        </header>
        <p id="connection" class="banner warn" role="status" hidden>
          The live connection to the service dropped. Reconnecting…
        </p>
        <main id="main" {...(signedIn ? { 'hx-ext': 'sse', 'sse-connect': props.stream ?? '/events' } : {})}>
          <h1>{props.title}</h1>
          <div id="notices">{props.notice && <NoticeBanner notice={props.notice} />}</div>
          {props.children}
        </main>
      </body>
    </html>
  );
}

/** The notice of a finished or refused action. */
export function NoticeBanner(props: { readonly notice: NonNullable<LayoutProps['notice']> }) {
  const { kind, text } = props.notice;
  return (
    <p class={`banner ${kind}`} role={kind === 'error' ? 'alert' : 'status'}>
      {text}
    </p>
  );
}

/** The notices of a page, replaced by a fragment that answers an action in place (out of band). */
export function NoticeSwap(props: { readonly notice: LayoutProps['notice'] }) {
  return (
    <div id="notices" hx-swap-oob="innerHTML">
      {props.notice && <NoticeBanner notice={props.notice} />}
    </div>
  );
}

/** A hidden CSRF field for a plain form. */
export function Csrf(props: { readonly token: string }) {
  return <input type="hidden" name="_csrf" value={props.token} />;
}

/** A time of day, local to the browser's reader is not known on the server: ISO with a readable text. */
export function Time(props: { readonly at: number }) {
  const d = new Date(props.at);
  return <time datetime={d.toISOString()}>{d.toISOString().replace('T', ' ').slice(0, 19)} UTC</time>;
}
