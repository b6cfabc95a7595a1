/** Repod's roles, weakest first: each role may do everything the ones before it may. */
export const ROLES = ['reader', 'auditor', 'uploader', 'maintainer', 'admin'] as const;
export type Role = (typeof ROLES)[number];

export function isRole(value: unknown): value is Role {
  return typeof value === 'string' && (ROLES as readonly string[]).includes(value);
}

export function roleAtLeast(role: Role, required: Role): boolean {
  return ROLES.indexOf(role) >= ROLES.indexOf(required);
}

/** Who a request acts for (a user or a token's subject) and with which role. */
export interface Principal {
  subject: string;
  role: Role;
}
