import { AvroSchemaParser } from '@asyncapi/avro-schema-parser';
import { Parser } from '@asyncapi/parser';
import { expect } from 'chai';
import fs from 'node:fs';
import path from 'node:path';
import { DOMAIN_TOPICS } from '../topics/catalog';
import { EVENT_DEFINITIONS, EVENT_TYPES } from './generated/events';
import { generateAsyncApi } from './tools/asyncapi';
import { assembleAll } from './tools/assemble';

/** Spectral's severity of an error (0; warnings 1, information 2, hints 3). */
const ERROR = 0;

/** docs/asyncapi.yaml: in step with the schemas, and read without error by the stock AsyncAPI parser. */
describe('AsyncAPI document (unit)', function () {
  this.timeout(30_000);
  const file = path.join(__dirname, '../docs/asyncapi.yaml');
  const text = fs.readFileSync(file, 'utf8');

  it('is up to date with the .avsc sources and the topic catalog', () => {
    expect(text).to.equal(generateAsyncApi(assembleAll()), 'run npm run schemas:gen');
  });

  it('parses with @asyncapi/parser (Avro payloads included) with no error, one channel per topic and one message per event type', async () => {
    const parser = new Parser();
    parser.registerSchemaParser(AvroSchemaParser());
    const { document, diagnostics } = await parser.parse(text, { source: file });
    const errors = diagnostics.filter((d) => Number(d.severity) === ERROR).map((d) => `${d.path.join('.')}: ${d.message}`);
    expect(errors).to.deep.equal([]);
    expect(document, 'parsed').to.not.equal(undefined);
    expect(document!.version()).to.equal('3.0.0');
    expect(
      document!
        .channels()
        .all()
        .map((c) => c.address())
        .sort(),
    ).to.deep.equal([...DOMAIN_TOPICS].sort());
    const messages = document!.components().messages().all();
    expect(messages.map((m) => m.name()).sort()).to.deep.equal([...EVENT_TYPES].sort());
    const enrolled = messages.find((m) => m.name() === 'student.enrolled')!;
    expect(enrolled.schemaFormat()).to.equal('application/vnd.apache.avro;version=1.9.0');
    // The Avro schema (the record as written, envelope and payload) was read by the Avro schema parser, which
    // converts it for tools that only speak JSON Schema.
    const converted = (enrolled.payload()?.json() as { schema?: { type?: string; required?: string[] } }).schema;
    expect(converted?.type).to.equal('object');
    expect(converted?.required).to.include.members(['eventId', 'eventType', 'payload']);
    expect(EVENT_DEFINITIONS['student.enrolled'].schema).to.include({ type: 'record' });
  });
});
