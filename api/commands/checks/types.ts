import type { RuleCode } from '../../../processors/shared/invariants';
import type { UserResource } from '../../../processors/users/resources';
import type { FieldError } from '../../http/problem';

/** The request field that carried a payload field of one event (`body.courseId`, `path.userId`, `body.studentUserIds[2]`). */
export type FieldOf = (payloadField: string) => string;

export const broken = (field: string, rule: RuleCode, message: string): FieldError => ({ field, message, rule });

export const isDeactivated = (u: UserResource | undefined): boolean => u?.status === 'DEACTIVATED';
