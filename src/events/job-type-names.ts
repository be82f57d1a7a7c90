/**
 * The job types the service knows (registered at boot, the same in every role): what a live-updates
 * filter may name, so that a typo is refused rather than heard as silence.
 */
export abstract class JobTypeNames {
  abstract has(type: string): boolean;
  /** Every known type, sorted. */
  abstract types(): string[];
}
