/** The `linebreak` package (UAX #14) ships no types: the part the text layout uses. */
declare module "linebreak" {
  export default class LineBreaker {
    constructor(text: string);
    nextBreak(): { position: number; required: boolean } | null;
  }
}
