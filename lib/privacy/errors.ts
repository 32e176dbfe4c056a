import { AppError } from '../errors';

/**
 * A ciphertext does not open under the key and context given: wrong key, subject, event or field path, or the
 * bytes were changed. Never retriable: the same inputs fail the same way.
 */
export class DecryptionFailedError extends AppError {
  readonly code = 'PRIVACY_DECRYPTION_FAILED';
  readonly retriable = false;
}

/** The subject's data key was erased (crypto-shredding): its personal data can no longer be read. */
export class SubjectErasedError extends AppError {
  readonly code = 'PRIVACY_SUBJECT_ERASED';
  readonly retriable = false;
  constructor(readonly subject: string) {
    super(`the data key of ${subject} was erased`);
  }
}

/** No data key with this id for the subject (never created here, or another key store). */
export class DataKeyNotFoundError extends AppError {
  readonly code = 'PRIVACY_DATA_KEY_NOT_FOUND';
  readonly retriable = false;
  constructor(
    readonly subject: string,
    readonly keyId: string,
  ) {
    super(`no data key ${keyId} for ${subject}`);
  }
}

/** A data key is wrapped by a key-encryption key this process was not given (a rotation not configured). */
export class UnknownKekError extends AppError {
  readonly code = 'PRIVACY_KEK_UNKNOWN';
  readonly retriable = false;
}

/** A wrapped data key does not unwrap under its key-encryption key: the wrong KEK, or a changed row. */
export class KeyUnwrapError extends AppError {
  readonly code = 'PRIVACY_KEY_UNWRAP_FAILED';
  readonly retriable = false;
}
