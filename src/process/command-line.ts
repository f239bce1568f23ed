import { Command } from 'commander';
import { projectPackage } from '../project-root';

/** Exit code of a wrong command line: unknown option, missing or malformed argument. */
export const EXIT_USAGE = 2;

/** The version in package.json: what every Chorus program answers to --version. */
export function chorusVersion(): string {
  return projectPackage().version;
}

/**
 * The command line of a Chorus program: --help prints the usage and exits 0, --version prints the
 * package version and exits 0, a wrong argument prints what is wrong and the usage on stderr and
 * exits 2. Subcommands added afterwards inherit the same behaviour.
 */
export function commandLine(usageName: string, description: string): Command {
  return new Command(usageName)
    .description(description)
    .version(chorusVersion(), '-V, --version', 'print the Chorus version')
    .helpOption('-h, --help', 'print this help')
    .showHelpAfterError()
    .exitOverride((error) => process.exit(error.exitCode === 0 ? 0 : EXIT_USAGE));
}
