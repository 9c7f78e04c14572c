/** Short chat lines in several scripts, the message texts every benchmark sends. */
export const SENTENCES = [
  'see you at the station at six',
  'ok 👍',
  'can you send me the slides from this morning?',
  '明天见',
  'the build is green again, merging now',
  'haha that is great',
  'where did we park the car?',
  '회의가 10분 늦어질 것 같아요',
] as const;

/** The `i`-th benchmark text. */
export function sentence(i: number): string {
  return SENTENCES[i % SENTENCES.length] as string;
}

/** A text that carries `tag` so that its recipient can tell which send it was. */
export function taggedText(tag: string, i: number): string {
  return `${tag}|${sentence(i)}`;
}

/** The tag of a {@link taggedText}, or '' when there is none. */
export function tagOf(text: string | undefined): string {
  const bar = text?.indexOf('|') ?? -1;
  return bar > 0 ? (text as string).slice(0, bar) : '';
}
