import crypto from 'node:crypto';
import { expect } from 'chai';
import { eventually, testConfig } from '../support';
import { ApiHarness } from '../support/api';
import { TestPipeline } from '../support/pipeline';
import { launchChromium, screenshot } from '../support/browser';
import { startService } from '../../deploy/local/stack';
import { JAEGER_OTLP_PORT } from '../../deploy/local/services';

interface JaegerSpan {
  spanID: string;
  operationName: string;
  references: Array<{ refType: string; spanID: string; traceID: string }>;
  tags: Array<{ key: string; value: string | number | boolean }>;
}

/**
 * One enrollment through the API with a caller's trace context, every processor on, spans exported over OTLP to
 * a real Jaeger (started here if the stack runs without it; built from the Go module proxy the first time):
 * the saga is one trace holding the API's span and the spans of all six processors, each derived event's span
 * a child of the span of the processor that caused it.
 */
describe('tracing: one enrollment saga is one trace in Jaeger (e2e)', function () {
  this.timeout(1_800_000); // a first run builds Jaeger
  const service = `school-e2e-${crypto.randomBytes(4).toString('hex')}`;
  let p: TestPipeline;
  let api: ApiHarness;
  let admin = '';

  before(async () => {
    const config = testConfig({ OTEL_EXPORTER_OTLP_ENDPOINT: `http://127.0.0.1:${JAEGER_OTLP_PORT}`, OTEL_SERVICE_NAME: service });
    await startService(config, 'jaeger');
    p = new TestPipeline(config);
    api = new ApiHarness(p, { rateLimitPerMinute: 1_000_000 });
    await p.start();
    await api.start();
    admin = await api.token('ADM-1', 'admin');
  });
  after(async () => {
    await api?.stop();
    await p?.stop();
  });

  const command = async (url: string, body: unknown): Promise<void> => {
    const r = await api.call('POST', url, { token: admin, body, headers: { prefer: 'wait=15' } });
    expect(r.status, JSON.stringify(r.body)).to.equal(202);
  };

  it('the API span and the spans of all six processors, linked parent to child across the saga', async () => {
    await command('/api/v1/users', {
      userId: 'STU-1',
      userType: 'STUDENT',
      firstName: 'Ana',
      lastName: 'Pérez',
      email: 'a@school.example',
      roles: ['STUDENT'],
    });
    await command('/api/v1/users', {
      userId: 'TCH-1',
      userType: 'TEACHER',
      firstName: 'Eva',
      lastName: 'Ruiz',
      email: 't@school.example',
      roles: ['TEACHER'],
    });
    await command('/api/v1/academic/years', {
      academicYearId: '2025',
      name: 'School year 2025',
      startDate: '2025-03-03',
      endDate: '2025-12-19',
      gradingPeriods: [{ periodId: '2025-T1', name: 'Term 1', startDate: '2025-03-03', endDate: '2025-06-27' }],
    });
    await command('/api/v1/academic/sections', {
      sectionId: 'SEC-A',
      academicYearId: '2025',
      name: 'A',
      gradeLevel: 5,
      capacity: 5,
      homeroom: null,
    });
    await command('/api/v1/academic/sections/SEC-A/courses', { courseId: 'MATH', courseName: 'Mathematics', weeklyHours: 6 });
    await command('/api/v1/assignments/schedules', {
      sectionId: 'SEC-A',
      courseId: 'MATH',
      teacherUserId: 'TCH-1',
      dayOfWeek: 'MONDAY',
      startMinute: 480,
      endMinute: 570,
      room: null,
    });

    // The caller's trace: the API's span is its child, everything after descends from it.
    const traceId = crypto.randomBytes(16).toString('hex');
    const callerSpan = crypto.randomBytes(8).toString('hex');
    const r = await api.call('POST', '/api/v1/academic/enrollments', {
      token: admin,
      headers: { traceparent: `00-${traceId}-${callerSpan}-01` },
      body: {
        enrollmentId: 'ENR-1',
        studentUserId: 'STU-1',
        sectionId: 'SEC-A',
        academicYearId: '2025',
        enrollmentDate: '2025-03-03',
        enrollmentType: 'REGULAR',
      },
    });
    expect(r.status, JSON.stringify(r.body)).to.equal(202);
    const saga = await eventually(
      async () => {
        const s = await api.call('GET', '/api/v1/academic/enrollments/ENR-1/saga', { token: admin });
        return ['COMPLETED', 'FAILED'].includes(String(s.body.status)) ? s.body : undefined;
      },
      'the saga ends',
      60_000,
    );
    expect(saga.status).to.equal('COMPLETED');

    const processors = ['users', 'academic', 'assignments', 'grades', 'attendance', 'notifications'];
    const tag = (s: JaegerSpan, key: string): string | undefined => {
      const v = s.tags.find((t) => t.key === key)?.value;
      return v === undefined ? undefined : String(v);
    };
    // Spans leave in batches (every second): poll Jaeger's query API until every processor's spans are in.
    const spans = await eventually(
      async () => {
        const res = await fetch(`${p.config.tracing.queryUrl}/api/traces/${traceId}`);
        if (res.status !== 200) return undefined;
        const body = (await res.json()) as { data: Array<{ spans: JaegerSpan[] }> };
        const all = body.data.flatMap((t) => t.spans);
        const seen = new Set(all.map((s) => tag(s, 'school.processor')));
        return processors.every((x) => seen.has(x)) && all.some((s) => s.operationName.startsWith('POST ')) ? all : undefined;
      },
      `trace ${traceId} in Jaeger with every processor's spans`,
      60_000,
      500,
    );
    const byId = new Map(spans.map((s) => [s.spanID, s]));
    const parentOf = (s: JaegerSpan): JaegerSpan | undefined => byId.get(s.references.find((x) => x.refType === 'CHILD_OF')?.spanID ?? '');
    const apiSpan = spans.find((s) => s.operationName === 'POST /api/v1/academic/enrollments')!;
    expect(apiSpan, spans.map((s) => s.operationName).join(', ')).to.not.equal(undefined);
    expect(apiSpan.references.find((x) => x.refType === 'CHILD_OF')?.spanID).to.equal(callerSpan);
    // student.enrolled, published by the API, is applied by users, academic and assignments: children of the API span.
    for (const name of ['users', 'academic', 'assignments'])
      expect(
        spans.some(
          (s) => tag(s, 'school.processor') === name && tag(s, 'school.event.type') === 'student.enrolled' && parentOf(s) === apiSpan,
        ),
        `${name} applying student.enrolled under the API span`,
      ).to.equal(true);
    // A saga step's outcome is applied under the span of the processor that derived it, down to the welcome's delivery.
    const welcome = spans.find(
      (s) => tag(s, 'school.processor') === 'notifications' && tag(s, 'school.event.type') === 'enrollment.attendance.initialized',
    )!;
    expect(welcome, 'notifications applying step 5').to.not.equal(undefined);
    expect(tag(parentOf(welcome)!, 'school.processor')).to.equal('attendance');
    const chain: string[] = [];
    for (let s: JaegerSpan | undefined = welcome; s; s = parentOf(s)) chain.push(tag(s, 'school.processor') ?? s.operationName);
    expect(chain.at(-1)).to.equal('POST /api/v1/academic/enrollments');
    expect(chain.length, chain.join(' ← ')).to.be.greaterThan(3);
    // Every span of the trace is reachable from the API's span: nobody started a trace of their own.
    for (const s of spans.filter((x) => tag(x, 'school.processor'))) {
      let at: JaegerSpan | undefined = s;
      while (at && at !== apiSpan) at = parentOf(at);
      expect(at, `${s.operationName} descends from the API span`).to.equal(apiSpan);
    }
  });

  it("each chunk's store call is a span of its own under the chunk's span, which links to the saga's spans it applied", async () => {
    const byOperation = async (operation: string) => {
      const q = new URLSearchParams({ service, operation, limit: '20', lookback: '1h' });
      const res = await fetch(`${p.config.tracing.queryUrl}/api/traces?${q.toString()}`);
      return ((await res.json()) as { data: Array<{ traceID: string; spans: JaegerSpan[] }> | null }).data ?? [];
    };
    const traces = await eventually(
      async () => {
        const t = await byOperation('academic store postgres');
        return t.length ? t : undefined;
      },
      'academic store spans in Jaeger',
      30_000,
      500,
    );
    const sagaTrace = (await api.call('GET', '/api/v1/ops/enrollments/ENR-1/trace', { token: admin })).body as { traceId: string };
    const linked = traces.some((t) => {
      const store = t.spans.find((x) => x.operationName === 'academic store postgres');
      const chunk = t.spans.find((x) => x.spanID === store?.references.find((r) => r.refType === 'CHILD_OF')?.spanID);
      return chunk?.operationName === 'academic chunk' && chunk.references.some((r) => r.traceID === sagaTrace.traceId);
    });
    expect(linked, 'a store span whose chunk links into the saga trace').to.equal(true);
  });

  it("the console draws the saga's trace from Jaeger's query API (Jaeger built from source ships no UI)", async () => {
    type Row = { processor: string | null; eventType: string | null; name: string; parentSpanId: string | null };
    // Spans leave in batches: wait for the saga's last ones (grades, which learns the enrolled-student fact from it,
    // and academic applying enrollment.completed).
    const spans = await eventually(
      async () => {
        const t = await api.call('GET', '/api/v1/ops/enrollments/ENR-1/trace', { token: admin });
        expect(t.status, JSON.stringify(t.body)).to.equal(200);
        const all = t.body.spans as Row[];
        const last = all.filter((s) => s.eventType === 'enrollment.completed').map((s) => s.processor);
        return last.includes('grades') && last.includes('academic') ? all : undefined;
      },
      "the saga's last spans in Jaeger",
      30_000,
      500,
    );
    expect(new Set(spans.map((s) => s.processor).filter(Boolean))).to.have.keys(
      'users',
      'academic',
      'assignments',
      'grades',
      'attendance',
      'notifications',
    );
    expect(spans[0]?.name).to.equal('POST /api/v1/academic/enrollments');
    const browser = await launchChromium();
    try {
      const page = await browser.newPage({ viewport: { width: 1280, height: 860 } });
      await page.goto(`${api.base}/console`);
      await page.getByLabel(/Admin token/).fill(admin);
      await page.getByRole('button', { name: 'Sign in' }).click();
      await page.getByRole('heading', { name: 'Processors' }).waitFor();
      await page.goto(`${api.base}/console#/enrollments/ENR-1`);
      await page.getByRole('button', { name: 'Show the trace' }).click();
      const rows = page.getByRole('table', { name: 'Trace spans' }).locator('tbody tr');
      await rows.first().waitFor();
      expect(await rows.count()).to.equal(spans.length);
      expect(await rows.first().innerText()).to.include('POST /api/v1/academic/enrollments');
      await screenshot(page, 'saga-trace');
    } finally {
      await browser.close();
    }
  });
});
