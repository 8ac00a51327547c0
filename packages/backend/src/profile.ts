/**
 * Where a forward pass spends its time, stage by stage: the grouped GEMVs,
 * attention, the head, and the JS between kernel calls. Off unless asked for
 * (`BitNetBackend.startProfile`); when on, each stage boundary reads the clock
 * once. Kernel calls include their thread-pool dispatch and wait, and each
 * projection its glue (KERNEL.md §10 in @trit/tl1-kernel): qkv and gate+up their
 * RMSNorm, attn_output and ffn_down their sub-norm and residual add, ffn_down
 * the gated activation, attention the rotary embedding, the head the output norm.
 */

/** The stages of one forward pass, in the order they run. */
export const PROFILE_STAGES = [
  'embed',
  'qkv',
  'attention',
  'attn_output',
  'residual',
  'gate+up',
  'ffn_down',
  'head',
  'sampling',
] as const;

export type ProfileStage = (typeof PROFILE_STAGES)[number];

/** Milliseconds per stage, summed over the tokens counted. */
export interface StageProfile {
  /** Forward passes (decode steps or prefill batches) counted. */
  passes: number;
  /** Tokens those passes ran. */
  tokens: number;
  ms: Record<ProfileStage, number>;
}

/** Accumulates stage times: `start` at a pass's beginning, `lap(stage)` when a stage ends. */
export class StageClock {
  private last = 0;
  readonly profile: StageProfile = {
    passes: 0,
    tokens: 0,
    ms: Object.fromEntries(PROFILE_STAGES.map((s) => [s, 0])) as Record<ProfileStage, number>,
  };

  start(tokens: number): void {
    this.profile.passes++;
    this.profile.tokens += tokens;
    this.last = performance.now();
  }

  lap(stage: ProfileStage): void {
    const now = performance.now();
    this.profile.ms[stage] += now - this.last;
    this.last = now;
  }
}
