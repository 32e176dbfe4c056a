import { expect } from 'chai';
import { createTracing, derivedTraceparent, formatTraceparent, parseTraceparent, processSpanId } from './tracing';

describe('tracing: W3C trace context in events', () => {
  const tp = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01';

  it('parses and formats a traceparent; refuses malformed and all-zero ids', () => {
    expect(parseTraceparent(tp)).to.deep.include({
      traceId: '4bf92f3577b34da6a3ce929d0e0e4736',
      spanId: '00f067aa0ba902b7',
      traceFlags: 1,
    });
    expect(formatTraceparent(parseTraceparent(tp)!)).to.equal(tp);
    for (const bad of [
      null,
      undefined,
      '',
      'garbage',
      '01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01',
      `00-${'0'.repeat(32)}-00f067aa0ba902b7-01`,
      `00-4bf92f3577b34da6a3ce929d0e0e4736-${'0'.repeat(16)}-01`,
    ])
      expect(parseTraceparent(bad), String(bad)).to.equal(undefined);
  });

  it("a derived event's context: the cause's trace, the span of this processor applying the cause (stable across redeliveries)", () => {
    const cause = { eventId: 'e-1', metadata: { traceparent: tp } };
    const d = parseTraceparent(derivedTraceparent('grades', cause))!;
    expect(d.traceId).to.equal('4bf92f3577b34da6a3ce929d0e0e4736');
    expect(d.spanId)
      .to.equal(processSpanId('grades', 'e-1'))
      .and.match(/^[0-9a-f]{16}$/);
    expect(derivedTraceparent('grades', cause)).to.equal(derivedTraceparent('grades', { ...cause }));
    expect(processSpanId('attendance', 'e-1')).to.not.equal(processSpanId('grades', 'e-1'));
    expect(derivedTraceparent('grades', { eventId: 'e-1', metadata: { traceparent: null } })).to.equal(null);
  });

  it('is off without an endpoint: no provider, spans are inert', async () => {
    const t = createTracing({ tracing: { endpoint: '', serviceName: '' } }, 'x');
    expect(t.enabled).to.equal(false);
    expect(t.start('nothing').isRecording()).to.equal(false);
    await t.shutdown();
  });

  it('on: a span started with a preset id and a parent carries both', () => {
    // Never ended, so never exported: no I/O here (the tracing e2e test exports to a real Jaeger).
    const t = createTracing({ tracing: { endpoint: 'http://127.0.0.1:9', serviceName: 'unit' } }, 'x');
    const span = t.start('apply', { parent: parseTraceparent(tp), spanId: processSpanId('grades', 'e-1') });
    expect(span.spanContext()).to.include({ traceId: '4bf92f3577b34da6a3ce929d0e0e4736', spanId: processSpanId('grades', 'e-1') });
    expect(t.start('next').spanContext().spanId).to.not.equal(processSpanId('grades', 'e-1')); // preset ids are used once
  });
});
