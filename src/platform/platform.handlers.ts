import type { OrganizationLimits } from '../config';
import type { TokenSettings } from '../auth/login-tokens';
import { sessionClientOf, setSessionCookie } from '../auth/session-cookie';
import type { Db } from '../db/database';
import { AppError } from '../errors';
import { principalOf } from '../http/authenticate';
import type { HandlerTable, OperationHandler } from '../http/contract';
import { paginate } from '../http/pagination';
import { toMemberCreated } from '../members/members.mapper';
import { toOrganization } from '../organizations/organizations.mapper';
import { toPlatformOrganization } from './platform.mapper';
import { listPlatformOrganizations } from './platform.repository';
import { changeOrganization, createOrganization, deleteOrganization, requireOrganization, signUp } from './platform.service';

export function platformHandlers(db: Db, tokens: TokenSettings, options: { signupEnabled: boolean; reportsDir: string | undefined; limits: OrganizationLimits }): HandlerTable<'createSignup' | 'listPlatformOrganizations' | 'createPlatformOrganization' | 'getPlatformOrganization' | 'updatePlatformOrganization' | 'deletePlatformOrganization'> {
  const listOrganizations: OperationHandler<'listPlatformOrganizations'> = async (req, res) => {
    const filter = { status: req.query.status };
    res.json(
      await paginate({
        query: req.query,
        binding: { list: 'platform_organizations', ...filter },
        keyKinds: ['id'],
        fetch: (after, limitPlusOne) => listPlatformOrganizations(db, filter, limitPlusOne, after?.[0]),
        keysOf: (row) => [row.id],
        toItem: (row) => toPlatformOrganization(row, options.limits),
      }),
    );
  };

  const createOrganizationHandler: OperationHandler<'createPlatformOrganization'> = async (req, res) => {
    const { organization, member, invitation } = await createOrganization(db, req.body);
    res
      .status(201)
      .location(`/v1/platform/organizations/${organization.id}`)
      .json({ organization: toPlatformOrganization(organization, options.limits), owner: toMemberCreated(member, invitation) });
  };

  const getOrganization: OperationHandler<'getPlatformOrganization'> = async (req, res) => {
    res.json(toPlatformOrganization(await requireOrganization(db, req.params.id), options.limits));
  };

  const updateOrganization: OperationHandler<'updatePlatformOrganization'> = async (req, res) => {
    res.json(toPlatformOrganization(await changeOrganization(db, req.params.id, req.body, principalOf(res).organizationId), options.limits));
  };

  const deleteOrganizationHandler: OperationHandler<'deletePlatformOrganization'> = async (req, res) => {
    await deleteOrganization(db, req.params.id, options.reportsDir);
    res.status(204).end();
  };

  const createSignup: OperationHandler<'createSignup'> = async (req, res) => {
    if (!options.signupEnabled) throw new AppError('not_found', 'Self-service sign-up is not enabled on this server; ask its operator for an organization.');
    const { organization, userId, accessToken, expiresIn } = await signUp(db, tokens, req.body, sessionClientOf(req));
    setSessionCookie(req, res, accessToken, expiresIn);
    res.status(201).json({ organization: toOrganization(organization), user_id: userId, access_token: accessToken, token_type: 'bearer', expires_in: expiresIn });
  };

  return {
    createSignup,
    listPlatformOrganizations: listOrganizations,
    createPlatformOrganization: createOrganizationHandler,
    getPlatformOrganization: getOrganization,
    updatePlatformOrganization: updateOrganization,
    deletePlatformOrganization: deleteOrganizationHandler,
  };
}
