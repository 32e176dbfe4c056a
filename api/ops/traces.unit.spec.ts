import { expect } from 'chai';
import { toTrace, type JaegerTrace } from './traces';

describe('trace mapping (Jaeger query API → console spans)', () => {
  const trace: JaegerTrace = {
    traceID: 'abc',
    processes: { p1: { serviceName: 'school-events-api' }, p2: { serviceName: 'school-events-processors' } },
    spans: [
      {
        traceID: 'abc',
        spanID: 's2',
        operationName: 'academic apply student.enrolled',
        references: [{ refType: 'CHILD_OF', spanID: 's1' }],
        startTime: 1_000_250_000,
        duration: 1_500,
        tags: [
          { key: 'school.processor', value: 'academic' },
          { key: 'school.event.type', value: 'student.enrolled' },
        ],
        processID: 'p2',
      },
      {
        traceID: 'abc',
        spanID: 's1',
        operationName: 'POST /api/v1/academic/enrollments',
        startTime: 1_000_000_000,
        duration: 12_340,
        processID: 'p1',
      },
      {
        traceID: 'abc',
        spanID: 's3',
        operationName: 'academic chunk',
        references: [{ refType: 'FOLLOWS_FROM', spanID: 's2' }],
        startTime: 1_000_300_000,
        duration: 100,
        processID: 'p9',
      },
    ],
  };

  it('orders spans by start, offsets them from the first, and keeps only CHILD_OF as the parent', () => {
    const t = toTrace(trace);
    expect(t.traceId).to.equal('abc');
    expect(t.durationMs).to.equal(300.1);
    expect(t.spans.map((s) => [s.spanId, s.parentSpanId, s.startOffsetMs, s.durationMs])).to.deep.equal([
      ['s1', null, 0, 12.3],
      ['s2', 's1', 250, 1.5],
      ['s3', null, 300, 0.1],
    ]);
  });

  it('names the service from the process table and the processor and event type from the tags', () => {
    const [api, applied, chunk] = toTrace(trace).spans;
    expect([api!.service, api!.processor, api!.eventType]).to.deep.equal(['school-events-api', null, null]);
    expect([applied!.service, applied!.processor, applied!.eventType]).to.deep.equal([
      'school-events-processors',
      'academic',
      'student.enrolled',
    ]);
    expect(chunk!.service).to.equal('unknown');
  });
});
