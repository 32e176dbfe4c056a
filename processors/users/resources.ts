import type { Profile, ProfileFields } from './handlers';
import type { EnrollmentView } from './student360';

/**
 * The API's resources from the users documents: named fields of the contract only (`userId`, never the
 * storage's `_id` or the runtime's guard marks). A document without a profile is not a user: the read
 * models keep one for a user another event named (a parent link) before the user was created.
 */
export interface UserResource extends ProfileFields {
  userId: string;
  deactivationReason?: string;
  parents?: string[];
  children?: string[];
}

export interface Student360Resource {
  userId: string;
  profile: ProfileFields;
  parents?: string[];
  enrollment?: EnrollmentView;
}

const profileOf = (d: Partial<ProfileFields>): ProfileFields | undefined =>
  d.userType === undefined
    ? undefined
    : {
        userType: d.userType,
        firstName: d.firstName ?? '',
        lastName: d.lastName ?? '',
        email: d.email ?? '',
        phone: d.phone ?? null,
        birthDate: d.birthDate ?? null,
        roles: d.roles ?? [],
        status: d.status ?? 'ACTIVE',
      };

export function userResource(doc: Partial<Profile> | null | undefined): UserResource | undefined {
  const profile = doc?._id === undefined ? undefined : profileOf(doc);
  if (!doc?._id || !profile) return undefined;
  return {
    userId: doc._id,
    ...profile,
    ...(doc.deactivationReason !== undefined && { deactivationReason: doc.deactivationReason }),
    ...(doc.parents && { parents: doc.parents }),
    ...(doc.children && { children: doc.children }),
  };
}

/** The users document of the 360 (profile and parents; the API adds the rest from the other projections, student360.ts). */
export function student360Resource(
  doc: { _id: string; profile?: Partial<ProfileFields>; parents?: string[] } | null | undefined,
): Student360Resource | undefined {
  const profile = doc?.profile && profileOf(doc.profile);
  if (!doc || !profile) return undefined;
  return { userId: doc._id, profile, ...(doc.parents && { parents: doc.parents }) };
}
