import { expect } from 'chai';
import { MongoServerError } from 'mongodb';
import { classify } from './errors';

describe('classify', () => {
  it("FerretDB's own 'backend down' errors are transient (the record is fine, PostgreSQL behind FerretDB is restarting)", () => {
    const e = new MongoServerError({
      message:
        '[msg_find.go:344 handler.handleMaxTimeMSError] failed to connect to `user=postgres database=ferretdb`: 127.0.0.1:5432 (127.0.0.1): dial error: dial tcp 127.0.0.1:5432: connect: connection refused',
    });
    expect(classify(e)).to.equal('transient');
  });
  it('other server errors about the document stay permanent', () => {
    expect(classify(new MongoServerError({ message: 'Document failed validation', code: 121 }))).to.equal('permanent');
  });
});
