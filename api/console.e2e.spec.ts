import { expect } from 'chai';
import type { Browser, Page } from 'playwright-core';
import { createLogger } from '../lib/logger';
import { PROCESSOR_NAMES } from '../processors/all';
import { rebuild } from '../processors/replay/rebuild';
import { EXAMPLE_PAYLOADS } from '../schemas/examples';
import { eventually, testConfig } from '../test/support';
import { ApiHarness } from '../test/support/api';
import { collectCspViolations, launchChromium, screenshot } from '../test/support/browser';
import { TestPipeline } from '../test/support/pipeline';
import { seedSection } from '../test/support/school';

/**
 * The operator console and the API docs in real headless Chromium (Debian's), against the real stack:
 * every page the console has, driven as an operator would, through the same /api endpoints a script uses.
 * `npm run console:screenshots` runs this with SCREENSHOTS_DIR=docs/console to refresh the README's pictures.
 */
describe('operator console in headless Chromium (e2e)', function () {
  this.timeout(300_000);
  const p = new TestPipeline(testConfig());
  const api = new ApiHarness(p, { rateLimitPerMinute: 1_000_000 });
  let browser: Browser;
  let page: Page;
  let csp: string[];
  let admin = '';
  let enrolledEventId = '';
  const ids = { student: 'STU-CON-1', section: 'SEC-CON-NOSCHED', enrollment: 'ENR-CON-1', assignment: 'ASG-CON-1' };

  before(async () => {
    await p.start();
    await api.start();
    admin = await api.token('USR-ADMIN-001', 'admin');
    browser = await launchChromium();
    page = await browser.newPage({ viewport: { width: 1280, height: 860 } });
    csp = collectCspViolations(page);

    // A saga that fails at INITIALIZE_ATTENDANCE (the section has a course but no schedule): four compensations.
    await p.publish('user.created', { ...EXAMPLE_PAYLOADS['user.created'], userId: ids.student });
    await seedSection(p, { sectionId: ids.section });
    await eventually(async () => {
      const s = await api.call('GET', `/api/v1/academic/sections/${ids.section}`, { token: admin });
      return (s.body.courses as unknown[] | undefined)?.length ? true : undefined;
    }, 'the section and its course projected');
    const enrolled = await p.publish(
      'student.enrolled',
      { ...EXAMPLE_PAYLOADS['student.enrolled'], enrollmentId: ids.enrollment, studentUserId: ids.student, sectionId: ids.section },
      ids.enrollment,
    );
    enrolledEventId = enrolled.eventId;
    // A removal of an assignment that does not exist yet breaks a rule: dead-lettered; redriven once it exists, it applies.
    await p.publish('teacher.assignment.removed', { ...EXAMPLE_PAYLOADS['teacher.assignment.removed'], assignmentId: ids.assignment });
    await eventually(
      async () => {
        const e = await p.enrollment(ids.enrollment);
        return e?.status === 'FAILED' ? e : undefined;
      },
      'the enrollment to fail',
      60_000,
    );
  });

  after(async () => {
    await browser?.close();
    await api.stop();
    await p.stop();
  });

  const goto = (hash: string) => page.goto(`${api.base}/console${hash}`);
  const main = () => page.locator('main');

  it('without a token the console shows only the sign-in form, and a non-admin token gets no data', async () => {
    await goto('');
    await page.getByLabel(/Admin token/).waitFor();
    expect(await page.locator('nav').isHidden()).to.equal(true);
    const none = await api.call('GET', '/api/v1/ops/processors');
    expect(none.status).to.equal(401);
    await page.getByLabel(/Admin token/).fill(await api.token('TCH-1', 'teacher'));
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('alert').filter({ hasText: 'needs an admin token' }).waitFor();
    expect(await page.locator('table').count()).to.equal(0);
    await screenshot(page, 'sign-in-refused');
  });

  it('signs in with an admin token and shows lag, health and circuit for all six processors', async () => {
    await goto('');
    await page.getByLabel(/Admin token/).fill(admin);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('heading', { name: 'Processors' }).waitFor();
    // Every processor with a running instance (its heartbeat), a numeric lag and its circuit as text.
    for (const name of PROCESSOR_NAMES) {
      const row = page.locator('tbody tr', { has: page.getByText(name, { exact: true }) });
      await row.filter({ hasText: 'circuit closed' }).waitFor({ timeout: 30_000 });
      expect(await row.locator('td').nth(2).innerText()).to.match(/^[\d,]+$/);
      expect(await row.locator('.status').first().innerText()).to.match(/^(ok|lagging)$/);
    }
    expect(await page.locator('details[id^="processor-"]').count()).to.equal(PROCESSOR_NAMES.length);
    await screenshot(page, 'processors');
  });

  it('finds the dead letter, shows it decoded, redrives it after confirmation and sees it applied', async () => {
    // The assignment it removes exists now (its teacher a TEACHER, its course one of its section's, which assignments
    // waits for): the redriven removal can apply.
    const assigned = EXAMPLE_PAYLOADS['teacher.assigned.to.course'];
    await p.publish('user.created', {
      ...EXAMPLE_PAYLOADS['user.created'],
      userId: assigned.teacherUserId,
      userType: 'TEACHER',
      roles: ['TEACHER'],
    });
    await p.publish('course.assigned', {
      ...EXAMPLE_PAYLOADS['course.assigned'],
      sectionId: assigned.sectionId,
      courseId: assigned.courseId,
    });
    await p.publish('teacher.assigned.to.course', { ...assigned, assignmentId: ids.assignment });
    await goto('#/dead-letters?eventType=teacher.assignment.removed');
    const link = page.getByRole('link', { name: /\.dlq:\d+:\d+$/ });
    await eventually(async () => {
      await goto(`#/dead-letters?eventType=teacher.assignment.removed&r=${Date.now()}`);
      await page.getByText(/dead letter\(s\) match/).waitFor(); // the page has its answer
      return (await link.count()) > 0 ? true : undefined;
    }, 'the dead letter listed');
    expect(await main().innerText()).to.include('assignment ASG-CON-1 does not exist');
    await screenshot(page, 'dead-letters');

    await link.first().click();
    await page.getByRole('heading', { name: 'Dead letter' }).waitFor();
    expect(await page.getByLabel('decoded payload').innerText()).to.include(ids.assignment);
    await screenshot(page, 'dead-letter');

    await page.getByRole('link', { name: '← All dead letters' }).click();
    await page.getByLabel('Event type').fill('teacher.assignment.removed');
    await page.getByLabel('Event type').press('Enter');
    await page
      .getByRole('checkbox', { name: /^select / })
      .first()
      .check();
    await page.getByRole('button', { name: /Redrive 1 selected/ }).click();
    const dialog = page.getByRole('dialog');
    await dialog.waitFor();
    await screenshot(page, 'redrive-confirm');
    await dialog.getByRole('button', { name: 'Redrive 1' }).click();
    await page.getByText('1 record(s) redriven.').waitFor();

    // The result links the redriven event to its lookup: the assignments processor has applied it.
    await page.locator('main a[href^="#/events/"]').first().click();
    await eventually(async () => {
      await page.reload();
      const text = await main().innerText();
      return /assignments\s+applied/.test(text) ? text : undefined;
    }, 'the redriven removal applied by assignments');
    await screenshot(page, 'event-lookup');
  });

  it("opens the failed enrollment's timeline: the failing step and every compensation", async () => {
    await goto('#/enrollments');
    await page.getByLabel('Student id').fill(ids.student);
    await page.getByRole('button', { name: 'Search' }).click();
    await page.getByRole('link', { name: ids.enrollment }).click();
    await page.getByRole('heading', { name: `Enrollment ${ids.enrollment}` }).waitFor();
    const facts = await page.locator('dl.facts').innerText();
    expect(facts).to.match(/Status\s+FAILED/);
    expect(facts).to.match(/Failed step\s+INITIALIZE_ATTENDANCE/);
    const steps = await page.getByRole('list', { name: 'Saga timeline' }).locator('li').allInnerTexts();
    expect(steps.some((s) => /INITIALIZE_ATTENDANCE\s*FAILED/.test(s))).to.equal(true, steps.join('\n'));
    for (const compensated of ['INITIALIZE_GRADES', 'ASSIGN_TO_SECTION', 'VALIDATE_USER', 'CREATE_ENROLLMENT'])
      expect(steps.some((s) => new RegExp(`${compensated}\\s*COMPENSATED`).test(s))).to.equal(true, `${compensated}: ${steps.join('\n')}`);
    await screenshot(page, 'enrollment-timeline');
  });

  it('looks up an event id: which processors applied it', async () => {
    await goto(`#/events/${enrolledEventId}`);
    await page.getByRole('list', { name: 'Applied by processor' }).waitFor();
    expect(await main().innerText()).to.match(/academic\s+applied/);
  });

  it('lists replay builds with their progress', async () => {
    const logger = createLogger(p.config, 'console-e2e');
    await rebuild(p.config, logger, {
      name: 'assignments',
      liveSchema: p.schema('assignments'),
      liveGroup: `${p.run}-assignments`,
      topicName: (t) => p.topic(t),
      noSwitch: true,
      pollMs: 200,
    });
    await goto('#/builds');
    const row = page.locator('tbody tr', { hasText: p.schema('assignments') });
    await row.first().waitFor();
    expect(await row.first().innerText()).to.match(/built/);
    expect(await row.first().locator('progress').getAttribute('value')).to.equal('100');
    await screenshot(page, 'replay-builds');
  });

  it('is usable from the keyboard and at a phone-sized width', async () => {
    await goto('#/processors');
    await page.getByRole('heading', { name: 'Processors' }).waitFor();
    // Tab from the top of the page to the "Dead letters" link and follow it with Enter.
    await page.locator('body').focus();
    let reached = false;
    for (let i = 0; i < 10 && !reached; i++) {
      await page.keyboard.press('Tab');
      reached = (await page.evaluate<string | null>('document.activeElement && document.activeElement.textContent')) === 'Dead letters';
    }
    expect(reached, 'the Dead letters link is reachable with Tab').to.equal(true);
    await page.keyboard.press('Enter');
    await page.getByRole('heading', { name: 'Dead letters' }).waitFor();
    for (const [hash, heading] of [
      ['#/processors', 'Processors'],
      ['#/dead-letters', 'Dead letters'],
      [`#/enrollments/${ids.enrollment}`, `Enrollment ${ids.enrollment}`],
    ] as const) {
      await page.setViewportSize({ width: 390, height: 844 });
      await goto(hash);
      await page.getByRole('heading', { name: heading }).waitFor();
      const overflow = await page.evaluate<number>('document.documentElement.scrollWidth - window.innerWidth');
      expect(overflow, `${hash} wider than the window`).to.be.at.most(0);
    }
    await screenshot(page, 'phone-enrollment');
    await page.setViewportSize({ width: 1280, height: 860 });
  });

  it('serves interactive API docs (Swagger UI, local assets) and no page broke its CSP', async () => {
    await page.goto(`${api.base}/docs`);
    await page.locator('.opblock-summary-path', { hasText: '/api/v1/ops/dead-letters/redrive' }).waitFor({ timeout: 30_000 });
    expect(await page.locator('.opblock').count()).to.be.greaterThan(40);
    await screenshot(page, 'api-docs');
    expect(csp, csp.join('\n')).to.deep.equal([]);
    // The JSON API itself forbids everything a page could load.
    const res = await api.call('GET', '/health');
    expect(res.headers.get('content-security-policy')).to.include("default-src 'none'");
  });
});
