/**
 * The config files as the primary read them: every load records the bytes of the YAML and of the
 * zone files it named, kept with the LoadedConfig they gave. A DNS worker is sent those bytes and
 * loads them instead of the disk, so a worker (re)started after the files changed on disk (an edit
 * not yet reloaded, or a bad file a reload rejected) runs exactly the config in force.
 * @module
 */
import { ConfigError, type LoadedConfig, type LoadResult } from '../../config/load.js';
import { formatSourceError } from '../../config/source-error.js';
import { loadConfigFile } from '../config.js';
import { readConfigFileUtf8 } from '../load.js';
import type { ConfigFiles } from './messages.js';

export class RecordedInputs {
  private readonly read = new WeakMap<LoadedConfig, ConfigFiles>();

  load(path: string): LoadResult {
    const files: ConfigFiles = {};
    const loaded = loadConfigFile(path, (p) => (files[p] = readConfigFileUtf8(p)));
    if (loaded.ok) this.read.set(loaded.config, files);
    return loaded;
  }

  /** A role's start: any problem is fatal. */
  loadOrThrow(path: string): LoadedConfig {
    const loaded = this.load(path);
    if (!loaded.ok) throw new ConfigError(loaded.errors.map(formatSourceError));
    return loaded.config;
  }

  /** The files `config` was loaded from (it must come from this recorder). */
  filesOf(config: LoadedConfig): ConfigFiles {
    const files = this.read.get(config);
    if (!files) throw new Error(`${config.file}: not loaded through this recorder`);
    return files;
  }
}
