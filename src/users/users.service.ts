import type { Db } from '../db/database';
import { AppError } from '../errors';
import { generatePassword, hashPassword } from './passwords';
import { findUserByUsername, setPasswordHash } from './users.repository';

// Queries other features use as they are: the user rows have no rules beyond their columns.
export { findUserByUsername, hasAnyUser, insertUser, setPasswordHash } from './users.repository';

/** Gives the user a new generated password and answers it (shown once by the caller); 404 when there is no such user. */
export async function resetPassword(db: Db, username: string): Promise<{ userId: string; username: string; password: string }> {
  const found = await findUserByUsername(db, username);
  if (!found) throw new AppError('not_found', `No user ${username}.`);
  const password = generatePassword();
  await setPasswordHash(db, found.id, await hashPassword(password));
  return { userId: found.id, username: found.username, password };
}
