// What the live transcript panel and the replay transcript share: DOM nodes made from text
// (never markup: every word comes from a speaker) and the words for the codes they show.

export const LANGUAGE_WORDS = { bn: "Bengali", en: "English", ko: "Korean", hi: "Hindi" };

/** A language code in words ("ko" -> "Korean"); `unknown` when there is no code. */
export function languageWords(code, unknown = "this language") {
  return LANGUAGE_WORDS[code] || code || unknown;
}

/** Words from the server start in lower case (they read inside a sentence); a line starts with a capital. */
export function sentence(text) {
  const words = String(text || "").trim();
  return words ? words[0].toUpperCase() + words.slice(1) : "";
}

/** A `tag` element of `className` holding `text` as text. */
export function element(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined && text !== null) node.textContent = text;
  return node;
}

export function escapeRegExp(text) {
  return text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}
