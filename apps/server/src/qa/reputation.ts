/**
 * QA v1 reputation: an exponential moving average of verdicts in [0, 1]. A valid result moves it
 * 5% of the way to 1; a rejected one cuts it by 30%, so one caught cheat costs many honest
 * results. New providers start at 0.5.
 */
export const REPUTATION_GAIN = 0.05;
export const REPUTATION_PENALTY = 0.3;

export const reputationAfter = (reputation: number, valid: boolean): number =>
  valid ? reputation + REPUTATION_GAIN * (1 - reputation) : reputation * (1 - REPUTATION_PENALTY);
