import { expect } from 'chai';
import { MongoServerError } from 'mongodb';
import { classify, isContention, LocksBusyError } from './errors';

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
  it('lock contention (deadlock, serialization failure, lock not available, locks tried busy) is transient, and contention', () => {
    for (const code of ['40P01', '40001', '55P03']) {
      const e = Object.assign(new Error('busy'), { code });
      expect([classify(e), isContention(e)], code).to.deep.equal(['transient', true]);
    }
    expect(isContention(Object.assign(new Error('down'), { code: '08006' }))).to.equal(false);
    const busy = new LocksBusyError('busy');
    expect([classify(busy), isContention(busy)]).to.deep.equal(['transient', true]);
  });
});
