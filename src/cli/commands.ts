/**
 * The top-level commands of `vnfpipe`, in `--help` order, each with the function that sets it up on the
 * program (options, subcommands, an action that imports the command's module when it runs). Setting up all
 * of them costs every start a few milliseconds (≈ 2% of `plan`), so a run sets up only the command it runs
 * (see main.ts).
 */
import { type Command, InvalidArgumentError, Option } from 'commander';
import { handleErrors } from './errors.js';

type SetUp = (program: Command) => void;

const intArg = (name: string) => (value: string) => {
  if (!/^\d+$/.test(value) || Number(value) < 1) {
    throw new InvalidArgumentError(`${name} must be a whole number ≥ 1`);
  }
  return Number(value);
};

const collect = (value: string, previous: string[] = []) => [
  ...previous,
  ...value
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean),
];

const many = (value: string, previous: string[] = []) => [...previous, value];
/** Where a deployed workload is: the options `history` and `rollback` share. */
const targetOptions = (command: Command) =>
  command
    .option('-n, --namespace <namespace>', 'kubernetes: the namespace of the workload')
    .option(
      '--context <context>',
      'docker/swarm: the docker context; kubernetes: the kubeconfig context (default: the current one)',
    )
    .option(
      '--engine <host>',
      'docker/swarm: the engine (unix://, tcp://, ssh://; default DOCKER_HOST, DOCKER_CONTEXT, currentContext)',
    )
    .option('--kubeconfig <file>', 'kubernetes: the kubeconfig file (default: KUBECONFIG, ~/.kube/config)');
const registryOptions = (command: Command) =>
  command
    .option(
      '--creds <user:password>',
      'registry credentials (default: VNFPIPE_REGISTRY_*, then ~/.docker/config.json)',
    )
    .option('--creds-stdin', 'read user:password (or a token) for the registry from standard input')
    .option('--insecure', 'allow plain HTTP or unverified TLS for a registry that is not on loopback')
    .option('--ca-file <pem>', 'extra CA certificates (default: $SSL_CERT_FILE)')
    .option('--json', 'print the result as JSON')
    .option('-q, --quiet', 'print only errors');

/** `push` and `pull`: a copy between two image references, one of them in a registry. */
function copyCommand(name: 'push' | 'pull', description: string): SetUp {
  return (program) => {
    registryOptions(
      program
        .command(name)
        .description(description)
        .argument('<src>')
        .argument('<dest>')
        .option('-t, --tag <tag>', 'extra destination tag (repeatable)', collect)
        .option('--platform <os/arch>', 'copy one platform of an index')
        .option('-j, --concurrency <n>', 'blobs at once (default 4)', intArg('--concurrency'))
        .option(
          '--format <oci>',
          'oci: convert Docker manifests to OCI media types (manifest digests change); default: keep them as they are',
        ),
    ).action(
      handleErrors(async (src, dest, opts) => {
        const registry = await import('./registry.js');
        return name === 'push'
          ? registry.pushCommand(src, dest, opts)
          : registry.pullCommand(src, dest, opts);
      }),
    );
  };
}

export const COMMANDS: ReadonlyArray<readonly [name: string, setUp: SetUp]> = [
  [
    'run',
    (program) => {
      program
        .command('run')
        .description('run a pipeline (all stages, or the ones given with --stage)')
        .option('-f, --file <file>', 'pipeline file', 'vnfpipe.config.ts')
        .option('-s, --stage <stage>', 'run only this stage (repeatable, or comma-separated)', collect)
        .option(
          '-c, --concurrency <n>',
          'steps running at once (default: number of cores)',
          intArg('--concurrency'),
        )
        .option('--no-cache', 'run every step even when its inputs are unchanged')
        .option('--json', 'print events as NDJSON instead of progress')
        .addHelpText(
          'after',
          `
With --stage, outputs of steps in other stages come from the newest earlier run that recorded them
(.vnfpipe/runs); CI jobs pass that folder on. Ctrl-C cancels running steps, runs cleanups, exits 130.`,
        )
        .action(handleErrors(async (opts) => (await import('./run.js')).runCommand(opts)));
    },
  ],
  [
    'plan',
    (program) => {
      program
        .command('plan')
        .description('validate a pipeline and show its steps, stages and cache status, without running it')
        .option('-f, --file <file>', 'pipeline file', 'vnfpipe.config.ts')
        .option('--no-cache', 'plan as if the cache were empty')
        .option('--json', 'print the plan as JSON')
        .option(
          '--preflight',
          'check that the cluster can hold each kubernetes deploy step (reads nodes and quotas)',
        )
        .option('--typecheck', 'type-check the pipeline first (as vnfpipe check does)')
        .action(handleErrors(async (opts) => (await import('./plan.js')).planCommand(opts)));
    },
  ],
  [
    'check',
    (program) => {
      program
        .command('check')
        .description(
          'type-check the pipeline with the TypeScript compiler (run strips types without checking)',
        )
        .option('-f, --file <file>', 'pipeline file', 'vnfpipe.config.ts')
        .addHelpText(
          'after',
          `
Errors print as file:line:col; exit 2 when there are any. The compiler is the project's own typescript,
else vnfpipe's; the options are the project's tsconfig.json, else strict Node ESM defaults.`,
        )
        .action(handleErrors(async (opts) => (await import('./check.js')).checkCommand(opts)));
    },
  ],
  [
    'doctor',
    (program) => {
      program
        .command('doctor')
        .description('check that this machine has what the pipeline needs (engine, BuildKit, networks, …)')
        .option(
          '-f, --file <file>',
          'pipeline file (without one: check everything, require nothing)',
          'vnfpipe.config.ts',
        )
        .option('--json', 'print the checks as JSON')
        .action(handleErrors(async (opts) => (await import('./doctor.js')).doctorCommand(opts)));
    },
  ],
  [
    'render',
    (program) => {
      program
        .command('render')
        .description(
          'write the objects of the kubernetes deploy steps as YAML (one file per workload, apply order)',
        )
        .option('-f, --file <file>', 'pipeline file', 'vnfpipe.config.ts')
        .option('--step <id>', 'only this deploy step')
        .option(
          '-o, --out <dir>',
          'write <workload>.yaml files into this directory (default: standard output)',
        )
        .option(
          '--image <ref>',
          "the image for steps whose image is another step's output (pinned by digest)",
        )
        .action(handleErrors(async (opts) => (await import('./render.js')).renderCommand(opts)));
    },
  ],
  [
    'runs',
    (program) => {
      program
        .command('runs')
        .description('list recent runs, or show one run in detail')
        .argument('[run-id]', 'a run to show (an id or a unique prefix; "last" for the newest)')
        .option('-d, --dir <dir>', 'project directory holding .vnfpipe', '.')
        .option('-n, --limit <n>', 'how many runs to list', intArg('--limit'), 20)
        .option('--json', 'print as JSON')
        .action(handleErrors(async (runId, opts) => (await import('./runs.js')).runsCommand(runId, opts)));
    },
  ],
  [
    'history',
    (program) => {
      targetOptions(
        program
          .command('history')
          .description('list the revisions of a deployed workload')
          .argument('<name>', 'the workload name')
          .option('-d, --dir <dir>', 'project directory holding .vnfpipe', '.')
          .option('-t, --target <target>', 'docker, swarm or kubernetes', 'docker'),
      )
        .option(
          '-s, --site <site>',
          "a fleet site: its engine and target, as the site's newest deploy recorded them",
        )
        .option('--json', 'print as JSON')
        .action(handleErrors(async (name, opts) => (await import('./deploy.js')).historyCommand(name, opts)));
    },
  ],
  [
    'status',
    (program) => {
      program
        .command('status')
        .description(
          'the revision a workload runs at every fleet site, and whether it passed verify (exit 1 when one did not)',
        )
        .argument('<name>', 'the workload name')
        .option('-d, --dir <dir>', 'project directory holding .vnfpipe', '.')
        .option('--json', 'print as JSON')
        .action(handleErrors(async (name, opts) => (await import('./status.js')).statusCommand(name, opts)));
    },
  ],
  [
    'rollback',
    (program) => {
      targetOptions(
        program
          .command('rollback')
          .description(
            'return a workload to its last verified revision, or to --to N (waits until it serves)',
          )
          .argument('<name>', 'the workload name')
          .option('-d, --dir <dir>', 'project directory holding .vnfpipe', '.')
          .option(
            '-t, --target <target>',
            'docker or kubernetes (a swarm service: docker service rollback)',
            'docker',
          ),
      )
        .option('--to <revision>', 'the revision to return to', intArg('--to'))
        .action(
          handleErrors(async (name, opts) => (await import('./deploy.js')).rollbackCommand(name, opts)),
        );
    },
  ],
  [
    'init',
    (program) => {
      program
        .command('init')
        .description('write a project from a template: pipeline, sources, tsconfig.json, CI workflow')
        .argument('[dir]', 'the folder to write into (default: the current one)')
        .option('-t, --template <name>', 'basic, multi-net, dockerfile or kubernetes', 'basic')
        .option('--list', 'list the templates')
        .addOption(new Option('--force', 'overwrite files that exist'))
        .action(handleErrors(async (dir, opts) => (await import('./init.js')).initCommand(dir, opts)));
    },
  ],
  [
    'keygen',
    (program) => {
      program
        .command('keygen')
        .description(
          'write a cosign-compatible key pair: <prefix>.key (encrypted with COSIGN_PASSWORD) and <prefix>.pub',
        )
        .option('--output-key-prefix <prefix>', 'file name prefix', 'cosign')
        .option('--force', 'overwrite existing files')
        .action(handleErrors(async (opts) => (await import('./trust.js')).keygenCommand(opts)));
    },
  ],
  [
    'sign',
    (program) => {
      program
        .command('sign')
        .description(
          "sign an image by digest in cosign's format (sha256-<hex>.sig tag) and as a Sigstore bundle",
        )
        .argument('<ref>', 'host/repo:tag or host/repo@sha256:…')
        .option('--key <key>', 'private key: a file or env://VAR (password from COSIGN_PASSWORD)')
        .option(
          '--keyless',
          'sign with a Fulcio certificate for the OIDC identity (SIGSTORE_ID_TOKEN or GitHub)',
        )
        .option('--fulcio-url <url>', 'Fulcio for --keyless (default: the public instance)')
        .option('--rekor-url <url>', 'Rekor for --keyless (default: the public instance)')
        .option('--insecure', 'allow plain HTTP for a registry off loopback')
        .option('--json', 'print the result as JSON')
        .action(handleErrors(async (ref, opts) => (await import('./trust.js')).signCommand(ref, opts)));
    },
  ],
  [
    'attest',
    (program) => {
      program
        .command('attest')
        .description('attach a DSSE-signed in-toto attestation to an image (as a Sigstore bundle referrer)')
        .argument('<ref>', 'host/repo:tag or host/repo@sha256:…')
        .requiredOption('--predicate <file>', 'the predicate, a JSON file')
        .requiredOption('--type <type>', 'slsaprovenance or cyclonedx')
        .requiredOption('--key <key>', 'private key: a file or env://VAR (password from COSIGN_PASSWORD)')
        .option('--insecure', 'allow plain HTTP for a registry off loopback')
        .option('--json', 'print the result as JSON')
        .action(handleErrors(async (ref, opts) => (await import('./trust.js')).attestCommand(ref, opts)));
    },
  ],
  [
    'verify-image',
    (program) => {
      program
        .command('verify-image')
        .description('check an image carries a signature (and attestations) that verify with a public key')
        .argument('<ref>', 'host/repo:tag or host/repo@sha256:…')
        .option('--key <key>', 'public key: a file or env://VAR')
        .option('--certificate-identity <san>', 'keyless: the signer identity (e-mail or workflow URI)')
        .option('--certificate-oidc-issuer <url>', 'keyless: the OIDC issuer of that identity')
        .option('--trusted-root <file>', "keyless: Sigstore's trusted_root.json (or a private deployment's)")
        .option(
          '--attestation <type>',
          'require this attestation (slsaprovenance, cyclonedx; repeatable)',
          collect,
        )
        .option('--insecure', 'allow plain HTTP for a registry off loopback')
        .option('--json', 'print the result as JSON')
        .addHelpText('after', '\nExit codes: 0 verified, 1 verification failed, 2 bad input.')
        .action(
          handleErrors(async (ref, opts) => (await import('./trust.js')).verifyImageCommand(ref, opts)),
        );
    },
  ],
  [
    'image',
    (program) => {
      const imageCommand = program
        .command('image')
        .description('build, inspect, list and clean up images without a pipeline');
      imageCommand
        .command('build')
        .description(
          'build an image natively: a base plus layers of host files, with config (like crane append/mutate); or a Dockerfile through BuildKit',
        )
        .option(
          '--from <ref>',
          'scratch, oci:<dir>[:ref], docker-archive:<file>[:ref] (docker save) or a registry image',
        )
        .option(
          '-l, --layer <src:dest>',
          'a layer from a host path to an absolute image path (repeatable)',
          collect,
        )
        .option('--entrypoint <argv>', 'JSON array or space-separated words')
        .option('--cmd <argv>', 'JSON array or space-separated words')
        .option(
          '-e, --env <KEY=VALUE>',
          'environment variable (repeatable)',
          (v: string, p: string[] = []) => [...p, v],
        )
        .option('-w, --workdir <dir>', 'working directory')
        .option('-u, --user <user>', 'user[:group] the image runs as')
        .option('--label <KEY=VALUE>', 'label (repeatable)', (v: string, p: string[] = []) => [...p, v])
        .option('--platform <os/arch>', 'target platform (default: this machine)')
        .option(
          '--keep-modes',
          "keep host files' permission bits (default: 0755 dirs/executables, 0644 others)",
        )
        .option(
          '--compression <codec>',
          'layer compression: gzip (default, every runtime) or zstd (Docker 23+)',
        )
        .requiredOption(
          '-t, --tag <ref>',
          'oci:<dir>:<ref>, host/repo:tag to push after the build, or docker-daemon:<name> (--dockerfile only)',
        )
        .option('--creds <user:password>', 'registry credentials for --tag or --from')
        .option('--insecure', 'allow plain HTTP for a registry off loopback')
        .option(
          '--json',
          'print the result as JSON (with --dockerfile: BuildKit vertexes and logs as NDJSON events)',
        )
        .option('-f, --dockerfile <file>', 'build this Dockerfile with BuildKit instead of --from/--layer')
        .option('--context <dir>', 'build context of --dockerfile (default: the current directory)')
        .option('--build-arg <KEY=VALUE>', 'Dockerfile ARG value (repeatable)', collect)
        .option('--target <stage>', 'Dockerfile stage to build')
        .option(
          '--secret <id=ID,src=FILE|env=VAR>',
          'secret for RUN --mount=type=secret (repeatable)',
          collect,
        )
        .option('--no-cache', 'rebuild every Dockerfile step')
        .option(
          '--buildkit-host <address>',
          'docker:// (default, or BUILDKIT_HOST), unix://PATH or tcp://HOST:PORT',
        )
        .option('--tlscacert <file>', 'CA certificate of a tcp:// buildkitd')
        .option('--tlscert <file>', 'client certificate for a tcp:// buildkitd')
        .option('--tlskey <file>', 'client key for a tcp:// buildkitd')
        .addHelpText(
          'after',
          `
Example:
  vnfpipe image build --dockerfile Dockerfile --build-arg VERSION=1.2 --secret id=token,env=TOKEN \\
    --tag oci:out/images:vfw
  vnfpipe image build --from oci:base:latest --layer out/vfw:/usr/local/bin/vfw \\
    --entrypoint '["/usr/local/bin/vfw"]' --cmd '-c /etc/vfw/rules.conf' --tag oci:out/images:vfw`,
        )
        .action(handleErrors(async (opts) => (await import('./image.js')).imageBuildCommand(opts)));
      imageCommand
        .command('inspect')
        .description('show an image: digest, config and layers with sizes')
        .argument('<ref>', 'oci:<dir>[:ref], docker-archive:<file>[:ref] or a registry image')
        .option('--platform <os/arch|all>', 'the platform to show from an index (default: this machine)')
        .option('--creds <user:password>', 'registry credentials')
        .option('--insecure', 'allow plain HTTP for a registry off loopback')
        .option('--json', 'print {"digest","mediaType","manifest","config"}')
        .action(
          handleErrors(async (ref, opts) => (await import('./image.js')).imageInspectCommand(ref, opts)),
        );
      imageCommand
        .command('ls')
        .description('list the refs of an OCI layout')
        .argument('<layout>', 'oci:<dir>')
        .option('--json', 'print as JSON')
        .action(handleErrors(async (ref, opts) => (await import('./image.js')).imageLsCommand(ref, opts)));
      imageCommand
        .command('gc')
        .description(
          'remove blobs no ref reaches and what killed builds and pulls left (temp, staging folders)',
        )
        .argument('<layout>', 'oci:<dir>')
        .option('--dry-run', 'only report what would be removed')
        .option('--json', 'print {"removed","freedBytes","stale","dryRun"}')
        .action(handleErrors(async (ref, opts) => (await import('./image.js')).imageGcCommand(ref, opts)));
    },
  ],
  [
    'scan',
    (program) => {
      program
        .command('scan')
        .description(
          'SBOM, vulnerabilities (OSV) and image checks of an image, with a policy gate (like trivy image)',
        )
        .argument(
          '<image>',
          'oci:<dir>[:ref], docker-archive:<file>[:ref] (docker save), or host/repo:tag to pull the host platform from a registry',
        )
        .option('-f, --format <format>', 'table, json, sarif, cyclonedx or spdx', 'table')
        .option('-o, --output <file>', 'write the report to this file instead of stdout')
        .option('--db <dir>', 'vulnerability database (default $VNFPIPE_DB_DIR or ~/.cache/vnfpipe/osv)')
        .option('--fail-on <severity>', 'critical, high, medium, low, unknown or none', 'high')
        .option('--ignore <file>', 'ignore rules, YAML or JSON (repeatable)', collect)
        .option('--vex <file>', 'OpenVEX document (repeatable)', collect)
        .option('--sbom <file>', 'also write an SBOM (*.spdx.json: SPDX 2.3, otherwise CycloneDX 1.6)')
        .option('--max-bytes <size>', 'most bytes all layers may expand to (default 32GiB)')
        .option(
          '--creds <user:password>',
          'registry credentials (default: VNFPIPE_REGISTRY_*, then ~/.docker/config.json)',
        )
        .option('--insecure', 'allow plain HTTP or unverified TLS for a registry that is not on loopback')
        .option('--ca-file <pem>', 'extra CA certificates (default: $SSL_CERT_FILE)')
        .addHelpText(
          'after',
          '\nExit codes: 0 clean, 1 the policy failed, 2 the scan could not run or is incomplete.',
        )
        .action(async (image, opts) => {
          // scanCommand never throws: every error is exit 2, never 1 (1 means "policy failed").
          const { scanCommand } = await import('./scan.js');
          process.exitCode = await scanCommand(image, opts);
        });
    },
  ],
  [
    'db',
    (program) => {
      const db = program.command('db').description('the local OSV vulnerability database used by scan');
      db.command('import')
        .description('import OSV records: directories, all.zip exports or JSON files')
        .argument('<paths...>')
        .option('--db <dir>', 'database directory')
        .option('--json', 'print the result as JSON')
        .action(
          handleErrors(async (paths, opts) => (await import('./scan.js')).dbImportCommand(paths, opts)),
        );
      db.command('update')
        .description('download OSV exports (Debian, Alpine, npm, PyPI, Go) and import them')
        .option('--db <dir>', 'database directory')
        .option('-e, --ecosystem <name>', 'OSV ecosystem (repeatable)', collect)
        .action(handleErrors(async (opts) => (await import('./scan.js')).dbUpdateCommand(opts)));
      db.command('status')
        .description('show the database: update time, records per ecosystem')
        .option('--db <dir>', 'database directory')
        .option('--json', 'print as JSON')
        .action(handleErrors(async (opts) => (await import('./scan.js')).dbStatusCommand(opts)));
    },
  ],
  [
    'push',
    copyCommand(
      'push',
      'copy an image to a registry (oci:<dir>[:ref], docker-archive:<file>[:ref] or host/repo:tag → host/repo:tag)',
    ),
  ],
  ['pull', copyCommand('pull', 'copy a registry image into an OCI layout (host/repo:tag → oci:<dir>[:ref])')],
  [
    'login',
    (program) => {
      registryOptions(
        program
          .command('login')
          .description('check credentials against a registry and save them in the docker config')
          .argument('<registry>')
          .option('-u, --username <name>')
          .option('-p, --password <password>', 'prefer --password-stdin')
          .option('--password-stdin', 'read the password from standard input'),
      ).action(
        handleErrors(async (registry, opts) => (await import('./registry.js')).loginCommand(registry, opts)),
      );
    },
  ],
  [
    'logout',
    (program) => {
      program
        .command('logout')
        .description('remove saved credentials of a registry')
        .argument('<registry>')
        .action(handleErrors(async (registry) => (await import('./registry.js')).logoutCommand(registry)));
    },
  ],
  [
    'artifact',
    (program) => {
      const artifact = program
        .command('artifact')
        .description('push, pull and list OCI artifacts (SBOMs, reports) attached to images');
      registryOptions(
        artifact
          .command('push')
          .description('push files as an OCI artifact, optionally attached to an image')
          .argument('<ref>')
          .argument('<files...>')
          .requiredOption('--artifact-type <type>', 'the artifact type (a media type)')
          .option('--subject <tag|digest|ref>', 'attach to this image (same repository)')
          .option('-a, --annotation <key=value>', 'annotation (repeatable)', many)
          .option('--media-type <type>', 'media type of each file'),
      ).action(
        handleErrors(async (ref, files, opts) =>
          (await import('./registry.js')).artifactPushCommand(ref, files, opts),
        ),
      );
      registryOptions(
        artifact
          .command('pull')
          .description("download an artifact's files")
          .argument('<ref>')
          .option('-o, --output <dir>', 'where to write the files', '.'),
      ).action(
        handleErrors(async (ref, opts) => (await import('./registry.js')).artifactPullCommand(ref, opts)),
      );
      registryOptions(
        artifact
          .command('ls')
          .description("list an image's referrers (artifacts attached to it)")
          .argument('<image>')
          .option('--artifact-type <type>', 'only this type'),
      ).action(
        handleErrors(async (ref, opts) => (await import('./registry.js')).artifactLsCommand(ref, opts)),
      );
    },
  ],
  [
    'vnfd',
    (program) => {
      const vnfdCommand = program
        .command('vnfd')
        .description('ETSI SOL006 VNF descriptors: import a VDU as a workload, export workloads as VNFDs');
      vnfdCommand
        .command('import')
        .description(
          'map one VDU of a SOL006 VNFD (JSON or YAML) to a workload; unmapped elements go to stderr',
        )
        .argument('<file>', 'the VNFD file')
        .option('--flavour <id>', 'deployment flavour (df); default: the first')
        .option('--vdu <id>', 'VDU; default: the only VDU of the flavour')
        .option('--vnfd <id>', 'VNFD id, when the file holds several')
        .option('-o, --output <file>', 'write the workload JSON here instead of stdout')
        .action(
          handleErrors(async (file, opts) => (await import('./vnfd.js')).vnfdImportCommand(file, opts)),
        );
      vnfdCommand
        .command('export')
        .description("write the workloads of the pipeline's deploy steps as SOL006 VNFDs (RFC 7951 JSON)")
        .option('-f, --file <file>', 'pipeline file', 'vnfpipe.config.ts')
        .option('--step <id...>', 'only these deploy steps')
        .option('-o, --output <file>', 'write here instead of stdout (.yaml/.yml: YAML)')
        .action(handleErrors(async (opts) => (await import('./vnfd.js')).vnfdExportCommand(opts)));
    },
  ],
  [
    'bundle',
    (program) => {
      const bundle = program
        .command('bundle')
        .description(
          'air-gapped release bundles: pack the images a pipeline ships, verify them, mirror them to a site',
        );
      registryOptions(
        bundle
          .command('create')
          .description(
            "pack the pipeline's pushed and deployed images (all platforms, signatures, attestations, referrers), its rendered Kubernetes objects and workload specs into one OCI layout tar",
          )
          .option('-f, --file <file>', 'pipeline file', 'vnfpipe.config.ts')
          .requiredOption('-o, --out <file>', 'the bundle to write (a tar)')
          .option('--image <ref>', 'an extra registry image to pack (repeatable)', many),
      ).action(
        handleErrors(async (opts, command: Command) => {
          const { bundleCreateCommand } = await import('./bundle.js');
          return bundleCreateCommand({ ...opts, fileGiven: command.getOptionValueSource('file') === 'cli' });
        }),
      );
      bundle
        .command('verify')
        .description(
          "check every blob's digest and size, that manifests' blobs are present, and (with --key) the signatures",
        )
        .argument('<bundle>', 'the bundle file')
        .option('--key <pub>', 'cosign public key (PEM file or env://VAR); repeatable', many)
        .option('--json', 'print the result as JSON')
        .option('-q, --quiet', 'print only problems')
        .action(
          handleErrors(async (path, opts) => (await import('./bundle.js')).bundleVerifyCommand(path, opts)),
        );
      registryOptions(
        bundle
          .command('push')
          .description(
            'mirror a bundle into a site registry, digests kept (only the registry part of references changes); resumable',
          )
          .argument('<bundle>', 'the bundle file')
          .argument('<site-registry>', 'host[:port][/prefix]')
          .option(
            '--mapping <file>',
            'where to write the source → site reference mapping (default <bundle>.mapping.json)',
          )
          .option('-j, --concurrency <n>', 'blobs at once (default 4)', intArg('--concurrency')),
      ).action(
        handleErrors(async (path, site, opts) =>
          (await import('./bundle.js')).bundlePushCommand(path, site, opts),
        ),
      );
    },
  ],
  [
    'ci',
    (program) => {
      const ci = program
        .command('ci')
        .description('generate GitHub Actions or GitLab CI from a pipeline (one job per stage)');
      for (const target of ['github', 'gitlab'] as const) {
        const command = ci
          .command(target)
          .description(
            target === 'github'
              ? 'write .github/workflows/vnfpipe.yml (or check it, or propose it as a pull request)'
              : 'write .gitlab-ci.yml (or check it)',
          )
          .option('-f, --file <file>', 'pipeline file', 'vnfpipe.config.ts')
          .option(
            '-o, --output <file>',
            `file to write (default ${target === 'github' ? '.github/workflows/vnfpipe.yml' : '.gitlab-ci.yml'})`,
          )
          .option(
            '--check',
            'exit 1 and print a unified diff when the file differs from what the pipeline generates',
          )
          .option(
            '--platform <platforms>',
            'run every stage per platform, e.g. linux/amd64,linux/arm64',
            collect,
          )
          .option('--manual <stages>', 'stages that run only when started by hand (e.g. deploy)', collect)
          .option('--environment <name>', 'environment of deploy and rollback jobs (default production)')
          .option('--install <command>', 'dependency install command of each job (default npm ci)')
          .option('--no-install', 'install nothing (runners with a ready tree)')
          .option('--vnfpipe <command>', 'how jobs start vnfpipe (default npx vnfpipe)');
        if (target === 'github') {
          command
            .option(
              '--open-pr',
              'commit the file on a branch and open or update a pull request (token from $GITHUB_TOKEN)',
            )
            .option('--repo <owner/name>', 'repository for --open-pr (default $GITHUB_REPOSITORY)')
            .option('--branch <name>', 'branch for --open-pr (default vnfpipe/ci)')
            .option('--base <branch>', 'base of the pull request (default: the repository default branch)')
            .option('--api-url <url>', 'GitHub Enterprise REST API root, e.g. https://ghe.example.com/api/v3')
            .option('--token-env <name>', 'environment variable holding the token (default GITHUB_TOKEN)');
        } else {
          command.option('--manual-waves', 'fleet waves after the first start only by hand (when: manual)');
        }
        command.action(
          handleErrors(async (opts) => {
            const { ciCommand } = await import('./ci.js');
            return ciCommand(target, opts);
          }),
        );
      }
    },
  ],
];
