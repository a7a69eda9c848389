import { CommanderError } from 'commander';
import { cliFailure, EXIT } from './cli-context';
import { buildProgram } from './program';

async function main(argv: string[]): Promise<number> {
  const program = buildProgram();
  try {
    await program.parseAsync(argv);
    return EXIT.ok;
  } catch (error) {
    if (error instanceof CommanderError) {
      // --help and --version end here too, with code 0.
      return error.exitCode === 0 ? EXIT.ok : EXIT.usage;
    }
    const failure = cliFailure(error);
    const { json } = program.opts<{ json?: boolean }>();
    process.stderr.write(json ? `${JSON.stringify({ error: { code: failure.code, message: failure.message } })}\n` : `fourfold: ${failure.message}\n`);
    return failure.exitCode;
  }
}

void main(process.argv).then((code) => {
  process.exitCode = code;
});
