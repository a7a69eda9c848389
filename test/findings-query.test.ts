import { AppError } from '../src/errors';
import { findingListFilter, findingSort, resourceFindingFilter } from '../src/findings/findings.query';

/** The error `parse` throws. */
function errorOf(parse: () => unknown): AppError {
  try {
    parse();
  } catch (error) {
    if (error instanceof AppError) return error;
    throw error;
  }
  throw new Error('nothing was thrown');
}

describe('findingListFilter', () => {
  it('answers severities as ranks (info 0 … critical 4), without repeats, spaces around commas ignored', () => {
    expect(findingListFilter({ severity: 'high, critical,high' }).severityRanks).toEqual([3, 4]);
  });

  it('answers statuses without repeats', () => {
    expect(findingListFilter({ status: 'open,resolved,open' }).statuses).toEqual(['open', 'resolved']);
  });

  it('refuses an unknown severity with invalid_severity_filter, one detail for each unknown value', () => {
    const error = errorOf(() => findingListFilter({ severity: 'high,urgent,,critical' }));
    expect(error.code).toBe('invalid_severity_filter');
    expect(error.message).toBe('severity must be one of: info, low, medium, high, critical');
    expect(error.details).toEqual([
      { field: 'query.severity', issue: 'unknown severity: urgent' },
      { field: 'query.severity', issue: 'unknown severity: (empty)' },
    ]);
  });

  it('refuses an unknown status with invalid_filter', () => {
    const error = errorOf(() => findingListFilter({ status: 'open,closed' }));
    expect(error.code).toBe('invalid_filter');
    expect(error.details).toEqual([{ field: 'query.status', issue: 'unknown status: closed' }]);
  });

  it('passes the other filters through, the times as dates, and leaves out what was not asked', () => {
    expect(
      findingListFilter({
        min_severity: 'medium',
        dimension: 'cost',
        rule_id: 'aws.s3.bucket_public_read',
        policy_id: 'pol_01JD8X3N5W6Q2R4T7Y9ZABCDEF',
        resource_type: 'aws_s3_bucket',
        region: 'eu-west-1',
        first_seen_after: '2026-01-01T00:00:00Z',
        q: 'bucket',
      }),
    ).toEqual({
      minSeverityRank: 2,
      dimension: 'cost',
      ruleId: 'aws.s3.bucket_public_read',
      policyId: 'pol_01JD8X3N5W6Q2R4T7Y9ZABCDEF',
      resourceType: 'aws_s3_bucket',
      region: 'eu-west-1',
      firstSeenAfter: new Date('2026-01-01T00:00:00Z'),
      q: 'bucket',
    });
  });
});

describe('resourceFindingFilter', () => {
  it('answers the common filters for the resource given', () => {
    const filter = resourceFindingFilter({ severity: 'low', status: 'open' }, 'res_01JD8X3N5W6Q2R4T7Y9ZABCDEF');
    expect(filter).toMatchObject({ severityRanks: [1], statuses: ['open'], resourceId: 'res_01JD8X3N5W6Q2R4T7Y9ZABCDEF' });
  });

  it('refuses an unknown severity as the findings list does', () => {
    expect(errorOf(() => resourceFindingFilter({ severity: 'severe' }, 'res_1')).code).toBe('invalid_severity_filter');
  });
});

describe('findingSort', () => {
  it('sorts by descending severity unless told otherwise', () => {
    expect(findingSort(undefined)).toEqual({ field: 'severity', descending: true });
  });

  it('reads a field, descending with a leading -', () => {
    expect(findingSort('last_seen_at')).toEqual({ field: 'last_seen_at', descending: false });
    expect(findingSort('-cost_impact')).toEqual({ field: 'cost_impact', descending: true });
  });
});
