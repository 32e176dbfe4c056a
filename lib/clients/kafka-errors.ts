/**
 * kafkajs's table of Kafka protocol errors, to tell retriable responses (a coordinator loading or moving, a
 * leader election) from real failures in its logs. Not part of kafkajs's typed API; the package has been
 * frozen upstream since 2023, so the table will not move under us.
 */
// eslint-disable-next-line @typescript-eslint/no-require-imports
const table = require('kafkajs/src/protocol/error') as { errorCodes: Array<{ type: string; message: string; retriable: boolean }> };

/** Messages of the protocol errors kafkajs retries by itself. */
export const RETRIABLE_KAFKA_MESSAGES: ReadonlySet<string> = new Set(table.errorCodes.filter((e) => e.retriable).map((e) => e.message));
