// Queries other features use as they are: the user rows have no rules beyond their columns.
export { findUserById, findUserByUsername, hasAnyUser, insertUser, setPasswordHash } from './users.repository';
