// Server-sent events over fetch: EventSource cannot send the Authorization header, so the stream
// is read here and split into events by the text/event-stream rules (fields `event:` and
// `data:`, events ended by a blank line, comments starting with ':').

export interface ServerEvent {
  event: string;
  data: string;
}

// Feeds chunks of text; returns the complete events seen so far and keeps the rest.
export class EventParser {
  private buffer = '';
  private event = '';
  private data: string[] = [];

  push(chunk: string): ServerEvent[] {
    this.buffer += chunk;
    const out: ServerEvent[] = [];
    let nl: number;
    while ((nl = this.buffer.search(/\r\n|\n|\r/)) >= 0) {
      const line = this.buffer.slice(0, nl);
      this.buffer = this.buffer.slice(nl + (this.buffer.startsWith('\r\n', nl) ? 2 : 1));
      if (line === '') {
        if (this.data.length > 0) out.push({ event: this.event || 'message', data: this.data.join('\n') });
        this.event = '';
        this.data = [];
        continue;
      }
      if (line.startsWith(':')) continue;
      const colon = line.indexOf(':');
      const field = colon < 0 ? line : line.slice(0, colon);
      let value = colon < 0 ? '' : line.slice(colon + 1);
      if (value.startsWith(' ')) value = value.slice(1);
      if (field === 'event') this.event = value;
      else if (field === 'data') this.data.push(value);
    }
    return out;
  }
}

// Reads `res`'s body as events until it ends or `signal` aborts.
export async function readEvents(res: Response, onEvent: (e: ServerEvent) => void, signal?: AbortSignal) {
  if (!res.body) return;
  const reader = res.body.getReader();
  const decoder = new TextDecoder();
  const parser = new EventParser();
  const abort = () => void reader.cancel().catch(() => undefined);
  signal?.addEventListener('abort', abort);
  try {
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      for (const e of parser.push(decoder.decode(value, { stream: true }))) onEvent(e);
    }
  } catch {
    // cancelled or cut: the caller falls back to polling
  } finally {
    signal?.removeEventListener('abort', abort);
  }
}
