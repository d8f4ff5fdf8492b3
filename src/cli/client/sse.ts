/** Server-sent events: splitting the stream into messages, and following one until it ends or is aborted. */

/** One server-sent event, as the stream delivers it. */
export interface StreamMessage {
  readonly event: string;
  readonly data: string;
}

/**
 * Splits a server-sent event stream into messages; keeps the unfinished tail for the next chunk.
 * @example parseSseChunk('event: opened\ndata: {}\n\n') // { messages: [{ event: 'opened', data: '{}' }], rest: '' }
 */
export function parseSseChunk(buffer: string): { messages: StreamMessage[]; rest: string } {
  const normalized = buffer.replace(/\r\n?/g, '\n');
  const blocks = normalized.split('\n\n');
  const rest = blocks.pop() ?? '';
  const messages: StreamMessage[] = [];
  for (const block of blocks) {
    let event = 'message';
    const data: string[] = [];
    for (const line of block.split('\n')) {
      if (line.startsWith(':')) continue;
      const colon = line.indexOf(':');
      const field = colon < 0 ? line : line.slice(0, colon);
      const value = colon < 0 ? '' : line.slice(colon + 1).replace(/^ /, '');
      if (field === 'event') event = value;
      else if (field === 'data') data.push(value);
    }
    if (data.length > 0) messages.push({ event, data: data.join('\n') });
  }
  return { messages, rest };
}

/** Reads a stream body to its end, calling `onMessage` for every complete message. */
export async function readSse(
  body: ReadableStream<Uint8Array>,
  onMessage: (message: StreamMessage) => void,
): Promise<void> {
  const reader = body.pipeThrough(new TextDecoderStream()).getReader();
  let buffer = '';
  for (;;) {
    const { done, value } = await reader.read();
    if (done) return;
    const parsed = parseSseChunk(buffer + value);
    buffer = parsed.rest;
    for (const m of parsed.messages) onMessage(m);
  }
}
