import { describe, expect, it } from 'vitest';
import { EventParser, readEvents } from './sse';

describe('EventParser', () => {
  it('splits events at blank lines, across chunk boundaries', () => {
    const p = new EventParser();
    expect(p.push('event: job\ndata: {"progress":')).toEqual([]);
    expect(p.push('0.5}\n\nevent: job\ndata: {"progress":1}\n')).toEqual([{ event: 'job', data: '{"progress":0.5}' }]);
    expect(p.push('\n')).toEqual([{ event: 'job', data: '{"progress":1}' }]);
  });

  it('joins data lines, skips comments, accepts CRLF and defaults the event name', () => {
    const p = new EventParser();
    expect(p.push(': keep-alive\r\ndata: a\r\ndata: b\r\n\r\n')).toEqual([{ event: 'message', data: 'a\nb' }]);
  });

  it('ignores an event without data', () => {
    expect(new EventParser().push('event: ping\n\n')).toEqual([]);
  });
});

describe('readEvents', () => {
  it('reads a streamed body to its end', async () => {
    const body = new ReadableStream({
      start(c) {
        const enc = new TextEncoder();
        c.enqueue(enc.encode('event: job\ndata: 1\n\n'));
        c.enqueue(enc.encode('event: job\ndata: 2\n\n'));
        c.close();
      },
    });
    const seen: string[] = [];
    await readEvents(new Response(body), (e) => seen.push(e.data));
    expect(seen).toEqual(['1', '2']);
  });
});
