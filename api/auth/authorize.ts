import { forbidden } from '../http/problem';
import type { Identity, Role } from './jwt';
import type { Rule, Scope } from './permissions';

/** The relationships the matrix needs, read from the projections (users, assignments, academic). */
export interface Relations {
  /** Whether the student is a linked child of the parent (links only grow: no event removes one). */
  isChildOf(parentUserId: string, studentUserId: string): Promise<boolean>;
  sectionsTaughtBy(teacherUserId: string): Promise<string[]>;
  activeSectionsOf(studentUserId: string): Promise<string[]>;
}

async function allows(scope: Scope, who: Identity, subject: string | undefined, rel: Relations): Promise<boolean> {
  switch (scope) {
    case 'any':
      return true;
    case 'self':
      return subject === who.sub;
    case 'child':
      return subject === who.sub || (!!subject && (await rel.isChildOf(who.sub, subject)));
    case 'taught': {
      if (subject === who.sub) return true;
      if (!subject) return false;
      const [taught, attended] = await Promise.all([rel.sectionsTaughtBy(who.sub), rel.activeSectionsOf(subject)]);
      return attended.some((s) => taught.includes(s));
    }
    case 'own-section':
      return !!subject && (await rel.sectionsTaughtBy(who.sub)).includes(subject);
    default: {
      const never: never = scope;
      throw new Error(`unknown scope ${String(never)}`);
    }
  }
}

/** Allowed when any of the caller's roles allows it; otherwise 403 saying why. */
export async function authorize(rule: Rule, who: Identity, subject: string | undefined, rel: Relations): Promise<void> {
  const scoped = who.roles.map((r) => [r, rule.roles[r]] as [Role, Scope | undefined]).filter((x): x is [Role, Scope] => !!x[1]);
  if (!scoped.length) throw forbidden(`roles ${who.roles.join(', ')} may not do this`);
  for (const [, scope] of scoped) if (await allows(scope, who, subject, rel)) return;
  const [role, scope] = scoped[0]!;
  throw forbidden(
    `as ${role}, only allowed for ${scope === 'own-section' ? 'sections you are assigned to' : scope === 'child' ? 'yourself or your linked children' : scope === 'taught' ? 'yourself or students of your sections' : 'yourself'}`,
  );
}
