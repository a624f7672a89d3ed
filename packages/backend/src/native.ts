/**
 * Packages that provide TF.js's native `tensorflow` backend, in the order 'auto' tries them.
 * Both register the backend under the name `tensorflow` when imported. They are optional peer
 * dependencies: their install scripts download libtensorflow, so they are absent wherever the
 * install had no internet access.
 */
export const NATIVE_PACKAGES = ['@tensorflow/tfjs-node-gpu', '@tensorflow/tfjs-node'] as const;
export type NativePackage = (typeof NATIVE_PACKAGES)[number];

/** Name under which tfjs-node and tfjs-node-gpu register their backend. */
export const NATIVE_BACKEND_NAME = 'tensorflow';

/** Loads a module by specifier. The default is Node's dynamic import. */
export type ModuleImporter = (specifier: string) => Promise<unknown>;

/** Failure kind of a native package import. */
export type NativeLoadFailure =
  /** The package is not installed, the normal case. */
  | 'not-installed'
  /** The package is installed but its compiled binding or libtensorflow is missing or broken. */
  | 'binding-missing'
  /** Anything else, such as an exception thrown while the package initialises. */
  | 'failed';

/** Outcome of importing one native package. */
export type NativeLoadResult =
  | { readonly loaded: true; readonly packageName: NativePackage }
  | {
      readonly loaded: false;
      readonly packageName: NativePackage;
      readonly failure: NativeLoadFailure;
      readonly reason: string;
    };

export const defaultImporter: ModuleImporter = (specifier) => import(specifier);

function errorCode(error: unknown): string | undefined {
  if (typeof error === 'object' && error !== null && 'code' in error) {
    const { code } = error as { code: unknown };
    return typeof code === 'string' ? code : undefined;
  }
  return undefined;
}

/** Sorts an import error into the failure kinds above. */
export function classifyImportError(packageName: string, error: unknown): NativeLoadFailure {
  const message = error instanceof Error ? error.message : String(error);
  const code = errorCode(error);
  const namesPackage = message.includes(packageName);
  if ((code === 'ERR_MODULE_NOT_FOUND' || code === 'MODULE_NOT_FOUND') && namesPackage) {
    return 'not-installed';
  }
  // Vite-based runners such as vitest report a missing package in their own words, e.g.
  // 'Could not resolve "@tensorflow/tfjs-node" imported by "@guilomo/backend"'.
  if (
    namesPackage &&
    /Cannot find (package|module)|Could not resolve|Failed to (load|resolve)/i.test(message)
  ) {
    return 'not-installed';
  }
  // tfjs-node throws "The Node.js native addon module (tfjs_binding.node) can not be found at
  // path ..." when its install script did not run, and dlopen fails when libtensorflow is absent.
  if (code === 'ERR_DLOPEN_FAILED' || /tfjs_binding\.node|libtensorflow/.test(message)) {
    return 'binding-missing';
  }
  return 'failed';
}

/** Imports one native package and returns the outcome. Import errors are returned, not thrown. */
export async function importNativePackage(
  packageName: NativePackage,
  importer: ModuleImporter,
): Promise<NativeLoadResult> {
  try {
    await importer(packageName);
    return { loaded: true, packageName };
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    return { loaded: false, packageName, failure: classifyImportError(packageName, error), reason };
  }
}

/** Returns the install instructions for the native backend, for error messages. */
export function nativeInstallHint(): string {
  return (
    'Install @tensorflow/tfjs-node (CPU) or @tensorflow/tfjs-node-gpu (CUDA 11.2 and cuDNN 8.1) ' +
    'as a dependency of your application, with the same version as @tensorflow/tfjs-core. ' +
    'Their install scripts download libtensorflow, so the install needs internet access, and ' +
    'pnpm must be allowed to run the build script (onlyBuiltDependencies).'
  );
}
