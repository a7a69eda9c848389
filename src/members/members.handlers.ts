import { sessionClientOf, setSessionCookie } from '../auth/session-cookie';
import type { TokenSettings } from '../auth/login-tokens';
import type { Db } from '../db/database';
import { principalOf } from '../http/authenticate';
import type { HandlerTable, OperationHandler } from '../http/contract';
import { paginate } from '../http/pagination';
import { toMember, toMemberCreated } from './members.mapper';
import { listMembers } from './members.repository';
import { acceptInvitation, addMember, changeRole, removeMember, requireMember } from './members.service';

export function memberHandlers(db: Db, tokens: TokenSettings): HandlerTable<'listMembers' | 'createMember' | 'getMember' | 'updateMember' | 'deleteMember' | 'acceptInvitation'> {
  const listMembersHandler: OperationHandler<'listMembers'> = async (req, res) => {
    const filter = { role: req.query.role };
    res.json(
      await paginate({
        query: req.query,
        binding: { list: 'members', ...filter },
        keyKinds: ['id'],
        fetch: (after, limitPlusOne) => listMembers(db, principalOf(res).organizationId, filter, limitPlusOne, after?.[0]),
        keysOf: (row) => [row.user_id],
        toItem: toMember,
      }),
    );
  };

  const createMember: OperationHandler<'createMember'> = async (req, res) => {
    const { member, invitation } = await addMember(db, principalOf(res), req.body, tokens.platformAdmins);
    res
      .status(201)
      .location(`/v1/members/${member.user_id}`)
      .json(toMemberCreated(member, invitation));
  };

  const getMember: OperationHandler<'getMember'> = async (req, res) => {
    res.json(toMember(await requireMember(db, principalOf(res), req.params.user_id)));
  };

  const updateMember: OperationHandler<'updateMember'> = async (req, res) => {
    res.json(toMember(await changeRole(db, principalOf(res), req.params.user_id, req.body.role)));
  };

  const deleteMember: OperationHandler<'deleteMember'> = async (req, res) => {
    await removeMember(db, principalOf(res), req.params.user_id);
    res.status(204).end();
  };

  const acceptInvitationHandler: OperationHandler<'acceptInvitation'> = async (req, res) => {
    const { accessToken, expiresIn } = await acceptInvitation(db, tokens, req.body.invitation_token, req.body.password, sessionClientOf(req));
    setSessionCookie(req, res, accessToken, expiresIn);
    res.json({ access_token: accessToken, token_type: 'bearer', expires_in: expiresIn });
  };

  return {
    listMembers: listMembersHandler,
    createMember,
    getMember,
    updateMember,
    deleteMember,
    acceptInvitation: acceptInvitationHandler,
  };
}
