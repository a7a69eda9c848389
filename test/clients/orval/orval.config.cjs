// scripts/check-clients.sh: orval's fetch client, with a mutator that reads bodies by their media type.
module.exports = {
  fourfold: {
    input: '../../../generated/openapi.json',
    output: {
      target: './generated/fourfold.ts',
      client: 'fetch',
      mode: 'single',
      override: { mutator: { path: './fetcher.ts', name: 'fetcher' } },
    },
  },
};
