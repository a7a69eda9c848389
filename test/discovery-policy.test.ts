import { readFileSync } from 'node:fs';
import path from 'node:path';
import { AWS_ACTIONS } from '../src/discovery/aws/aws-calls';

const root = path.join(__dirname, '..');

function actionsOf(policyText: string): string[] {
  const policy = JSON.parse(policyText) as { Statement: { Effect: string; Action: string[] | string }[] };
  return policy.Statement.filter((s) => s.Effect === 'Allow').flatMap((s) => (Array.isArray(s.Action) ? s.Action : [s.Action]));
}

describe('the AWS least-privilege policy', () => {
  const calls = AWS_ACTIONS;

  it('in docs/discovery/aws-policy.json allows every call the collector makes, and nothing else', () => {
    const actions = actionsOf(readFileSync(path.join(root, 'docs/discovery/aws-policy.json'), 'utf8'));
    expect(new Set(actions)).toEqual(new Set(calls));
  });

  it('in the README is the same document', () => {
    const readme = readFileSync(path.join(root, 'README.md'), 'utf8');
    const section = readme.slice(readme.indexOf('## Connect a cloud account'));
    const block = /```json\n([\s\S]*?)```/.exec(section);
    expect(block).not.toBeNull();
    expect(new Set(actionsOf(block![1]!))).toEqual(new Set(calls));
    expect(section).toContain('SecurityAudit');
    expect(section).toContain('`Reader`');
    expect(section).toContain('roles/cloudasset.viewer');
  });

  it('names read-only actions only', () => {
    // GenerateCredentialReport only asks IAM to build the report GetCredentialReport reads (AWS lists it as a Read action, and SecurityAudit allows it);
    // SelectResourceConfig runs a read-only query over AWS Config's recorded configuration items (a Read action too).
    for (const call of calls) expect(call).toMatch(/^[a-z0-9-]+:(Get|List|Describe)[A-Za-z]+$|^iam:GenerateCredentialReport$|^config:SelectResourceConfig$/);
  });
});
