import type { Result } from './errors.js';
import type { Config } from './types.js';

/** A config file as read: its exact text and the result of validating it. */
export interface ConfigFileContents {
  readonly text: string;
  readonly result: Result<Config>;
}

/** The config-store port: where the running config comes from and where rule edits are saved. */
export interface ConfigStore {
  /** Where the config lives, for messages and logs. */
  readonly path: string;
  /** Reads and validates the config; CONFIG_NOT_FOUND when it is missing, CONFIG_READ_FAILED when unreadable. */
  read(): Promise<ConfigFileContents>;
  /** The stored text alone, unvalidated: whether it changed since it was read. */
  readText(): Promise<string>;
  /**
   * The text of `config`, keeping the layout and comments of `previousText` where nothing changed; it reads
   * back as `config` (checked by the store; INTERNAL if it cannot make such a text).
   */
  render(previousText: string, config: Config): string;
  /** Replaces the stored config with `text` at once; CONFIG_WRITE_FAILED when it cannot. */
  write(text: string): Promise<void>;
  /**
   * Writes `text` beside the stored config, durably, without replacing it: the slow part of {@link write}, done
   * while the kernel applies the same change. CONFIG_WRITE_FAILED when it cannot (nothing is left behind then).
   */
  prepare(text: string): Promise<PreparedConfigWrite>;
}

/** A config text written by {@link ConfigStore.prepare}, waiting to replace the stored one or to be dropped. */
export interface PreparedConfigWrite {
  /** Replaces the stored config with the prepared text at once; CONFIG_WRITE_FAILED leaves the stored one as it was. */
  commit(): Promise<void>;
  /** Drops the prepared text; the stored config is untouched. Never fails. */
  discard(): Promise<void>;
}
