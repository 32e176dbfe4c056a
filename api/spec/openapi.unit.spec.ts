import { expect } from 'chai';
import fs from 'node:fs';
import { PERMISSIONS } from '../auth/permissions';
import { loadOperations } from '../http/validation';
import { OPENAPI_FILE, renderOpenApi } from './gen';
import { QUERIES } from './routes';

describe('api/openapi.yaml', () => {
  it('is what api/spec and the event schemas generate (run npm run api:gen after changing either)', () => {
    expect(fs.readFileSync(OPENAPI_FILE, 'utf8') === renderOpenApi(), 'api/openapi.yaml is stale: run npm run api:gen').to.equal(true);
  });

  it('every operation has a permission rule and compiles into validators', () => {
    const { operations } = loadOperations(OPENAPI_FILE);
    expect(operations.length).to.be.greaterThan(40);
    for (const op of operations) expect(PERMISSIONS[op.operationId], op.operationId).to.not.equal(undefined);
  });

  it('command bodies refuse Mongo operators and SQL meta characters in ids, and unknown fields', () => {
    const op = loadOperations(OPENAPI_FILE).operations.find((o) => o.operationId === 'recordGrade')!;
    const good = {
      studentUserId: 'S-1',
      sectionId: 'SEC-1',
      courseId: 'C',
      periodId: 'P',
      evaluationType: 'EXAM',
      score: 1,
      maxScore: 2,
      comment: null,
    };
    expect(op.validators.body!(good), JSON.stringify(op.validators.body!.errors)).to.equal(true);
    for (const bad of [{ $gt: '' }, "x' OR '1'='1", 'a;drop table grades', '$where', ''])
      expect(op.validators.body!({ ...good, studentUserId: bad })).to.equal(false);
    expect(op.validators.body!({ ...good, recordedBy: 'someone-else' })).to.equal(false); // filled from the token, not the body
  });

  it('query responses name every property and allow no other (no _id, guard mark or column name can leak)', () => {
    const open: string[] = [];
    const walk = (schema: unknown, where: string): void => {
      if (!schema || typeof schema !== 'object') return;
      const sc = schema as Record<string, unknown>;
      if (sc.properties) {
        if (sc.additionalProperties !== false) open.push(where);
        for (const [k, v] of Object.entries(sc.properties as Record<string, unknown>)) {
          if (k.startsWith('_') || k.includes('_')) open.push(`${where}.${k}`);
          walk(v, `${where}.${k}`);
        }
      }
      if (sc.items) walk(sc.items, `${where}[]`);
      if (sc.additionalProperties && typeof sc.additionalProperties === 'object') walk(sc.additionalProperties, `${where}{}`);
    };
    for (const r of QUERIES) walk(r.response, r.operationId);
    expect(open).to.deep.equal([]);
  });
});
