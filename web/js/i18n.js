// Bengali and English strings of the customer page, and the number and time
// formats that go with them. Every word a customer sees comes from here.
//
// The agent console is English only but reuses the English tables (error
// codes, end reasons, language names) through tFor("en", ...). The dashboard's
// words about the call centre's servers (floor_node*, floor-nodes.js) are here in
// both languages and follow the language i18n is set to (English unless set).

export const LANGUAGES = ["bn", "en"];
const STORAGE_KEY = "kotha.language";

const STRINGS = {
  bn: {
    page_title: "কথা — গ্রাহক সহায়তা",
    brand: "কথা",
    brand_tagline: "গ্রাহক সহায়তা",
    language_label: "ভাষা",
    loading: "লোড হচ্ছে…",

    start_heading: "আমাদের সাপোর্ট টিমের সাথে কথা বলুন",
    start_text: "অর্ডার, পেমেন্ট বা ডেলিভারি নিয়ে একজন এজেন্ট আপনাকে সাহায্য করবেন।",
    name_label: "আপনার নাম (ঐচ্ছিক)",
    name_placeholder: "যেমন: করিম",
    call_support: "কল সাপোর্ট",
    starting: "কল প্রস্তুত করা হচ্ছে…",

    choose_heading: "কীভাবে কথা বলতে চান?",
    voice_call: "ভয়েস কল",
    voice_call_hint: "শুধু কথা",
    video_call: "ভিডিও কল",
    video_call_hint: "কথা ও ক্যামেরা",
    back: "ফিরে যান",
    media_asking: "মাইক্রোফোন চালু করা হচ্ছে… ব্রাউজার জিজ্ঞেস করলে অনুমতি দিন।",
    media_asking_video:
      "ক্যামেরা ও মাইক্রোফোন চালু করা হচ্ছে… ব্রাউজার জিজ্ঞেস করলে অনুমতি দিন।",

    waiting_heading: "একজন এজেন্টের জন্য অপেক্ষা করছেন",
    queue_position: "লাইনে আপনার অবস্থান: {position}",
    queue_position_unknown: "লাইনে আপনার অবস্থান জানা হচ্ছে…",
    requeued_next: "আপনার এজেন্টের সংযোগ বিচ্ছিন্ন হয়ে গেছে। পরের এজেন্টের জন্য আপনিই লাইনে প্রথম।",
    requeued_position: "আপনার এজেন্টের সংযোগ বিচ্ছিন্ন হয়ে গেছে। লাইনে আপনার অবস্থান: {position}",
    wait_estimate: "আনুমানিক অপেক্ষা: {wait}",
    wait_now: "একজন এজেন্ট এখনই আপনার কল ধরবেন।",
    wait_no_agent: "এই মুহূর্তে কোনো এজেন্ট কল নিচ্ছেন না। কেউ কল নেওয়া শুরু করলেই আপনার কল ধরা হবে।",
    waiting_keep_open: "এই পেজটি খোলা রাখুন।",
    cancel_call: "কল বাতিল করুন",

    agent_joining: "এজেন্ট যুক্ত হচ্ছেন…",
    agent_label: "এজেন্ট",
    agent_camera: "এজেন্টের ক্যামেরা",
    agent_screen: "এজেন্টের স্ক্রিন",
    your_camera: "আপনি",
    your_screen: "আপনার স্ক্রিন শেয়ার হচ্ছে",
    mute: "মিউট",
    unmute: "আনমিউট",
    camera_off: "ক্যামেরা বন্ধ",
    camera_on: "ক্যামেরা চালু",
    share_screen: "স্ক্রিন শেয়ার",
    stop_share: "শেয়ার বন্ধ",
    hang_up: "কল কাটুন",
    you_are_muted: "আপনি মিউট করা আছেন — এজেন্ট আপনার কথা শুনতে পাচ্ছেন না।",
    agent_muted: "এজেন্ট তাঁর মাইক্রোফোন মিউট করেছেন।",
    agent_camera_off: "এজেন্টের ক্যামেরা বন্ধ।",
    agent_gone: "এজেন্টের সংযোগ বিচ্ছিন্ন হয়েছে; তিনি ফিরে আসার অপেক্ষা করা হচ্ছে…",
    recording_notice: "মান নিয়ন্ত্রণ ও প্রশিক্ষণের জন্য এই কলটি রেকর্ড করা হয়।",
    recording_paused: "রেকর্ডিং এখন বন্ধ আছে: কার্ড নম্বর বা পিন বলা নিরাপদ।",
    on_hold: "আপনাকে হোল্ডে রাখা হয়েছে। লাইনে থাকুন — আপনার এজেন্ট শিগগিরই ফিরে আসবেন।",
    supervisor_joined: "সুপারভাইজার {name} কলে যোগ দিয়েছেন",
    supervisor_joined_unnamed: "একজন সুপারভাইজার কলে যোগ দিয়েছেন",
    supervisor_hint: "তিনি আপনার কথা শুনতে পাচ্ছেন এবং আপনার সাথে কথা বলতে পারেন।",
    enable_sound: "শব্দ শুনতে এখানে চাপুন",

    conn_new: "প্রস্তুত হচ্ছে…",
    conn_connecting: "সংযোগ হচ্ছে…",
    conn_connected: "সংযুক্ত",
    conn_reconnecting: "আবার সংযোগ করা হচ্ছে…",
    conn_offline: "ইন্টারনেট সংযোগ নেই — আবার চেষ্টা করা হচ্ছে…",
    media_retry_audio: "{seconds} সেকেন্ড পরে অডিও আবার সংযোগ করা হবে…",
    media_retry_video: "{seconds} সেকেন্ড পরে অডিও ও ভিডিও আবার সংযোগ করা হবে…",

    ended_heading: "কল শেষ হয়েছে",
    ended_hung_up_self: "আপনি কল কেটে দিয়েছেন।",
    ended_hung_up_other: "এজেন্ট কল শেষ করেছেন।",
    ended_hung_up: "কল শেষ হয়েছে।",
    ended_cancelled: "আপনি কলটি বাতিল করেছেন।",
    ended_abandoned: "সংযোগ না থাকায় অপেক্ষা শেষ হয়ে গেছে।",
    ended_disconnected: "সংযোগ বিচ্ছিন্ন হওয়ায় কল শেষ হয়েছে।",
    ended_expired: "এই কলের লিংকের মেয়াদ শেষ হয়ে গেছে।",
    ended_shutdown: "সার্ভার বন্ধ হওয়ায় কল শেষ হয়েছে। একটু পরে আবার চেষ্টা করুন।",
    ended_interrupted: "সার্ভারে হঠাৎ সমস্যা হওয়ায় কল কেটে গেছে। দুঃখিত, আবার কল করুন।",
    call_duration: "কলের সময়: {duration}",
    thanks: "কল করার জন্য ধন্যবাদ!",
    call_again: "আবার কল করুন",
    new_link_needed: "আবার কথা বলতে দোকানের অ্যাপ বা ওয়েবসাইট থেকে নতুন কল শুরু করুন।",

    rating_heading: "আপনার কলটি কেমন ছিল?",
    rating_legend: "১ (খুব খারাপ) থেকে ৫ (খুব ভালো) পর্যন্ত একটি বেছে নিন",
    rating_1: "খুব খারাপ",
    rating_2: "খারাপ",
    rating_3: "মোটামুটি",
    rating_4: "ভালো",
    rating_5: "খুব ভালো",
    rating_chosen: "আপনি দিয়েছেন ৫-এর মধ্যে {score}: {words}",
    rating_comment_label: "আর কিছু বলতে চান? (ঐচ্ছিক)",
    rating_count: "{n}/{max} অক্ষর",
    rating_send: "পাঠান",
    rating_retry: "আবার পাঠান",
    rating_sending: "পাঠানো হচ্ছে…",
    rating_skip: "দরকার নেই",
    rating_pick_first: "আগে ১ থেকে ৫-এর মধ্যে একটি বেছে নিন।",
    rating_failed: "আপনার মতামত পাঠানো যায়নি। {reason} আবার পাঠাতে “আবার পাঠান” চাপুন।",
    rating_thanks: "ধন্যবাদ! আপনার মতামত আমাদের সেবা আরও ভালো করতে সাহায্য করবে।",
    rating_already: "এই কলের মতামত আগেই দেওয়া হয়েছে। ধন্যবাদ!",
    rating_closed: "এই কলের মতামত এখন আর দেওয়া যাচ্ছে না।",

    no_link_heading: "কলের লিংক পাওয়া যায়নি",
    no_link_text: "দোকানের অ্যাপ বা ওয়েবসাইটে “কল সাপোর্ট” চাপুন; সেখান থেকে এই পেজটি খুলবে।",

    minutes: "{n} মিনিট",
    under_a_minute: "১ মিনিটের কম",
    lang_bn: "বাংলা",
    lang_en: "ইংরেজি",
    lang_ko: "কোরিয়ান (한국어)",
    lang_hi: "হিন্দি (हिन्दी)",
    call_language_label: "কলের ভাষা",
    media_audio: "ভয়েস",
    media_video: "ভিডিও",

    error_token_missing: "কলের লিংক পাওয়া যায়নি।",
    error_token_expired: "এই কলের লিংকের মেয়াদ শেষ হয়ে গেছে।",
    error_token_invalid: "এই কলের লিংকটি সঠিক নয়।",
    error_forbidden: "এটি করার অনুমতি নেই।",
    error_not_found: "কলটি খুঁজে পাওয়া যায়নি।",
    error_call_state: "কলটি এখন এমন অবস্থায় আছে যে এটি করা যাচ্ছে না।",
    error_queue_full: "এখন অনেক গ্রাহক অপেক্ষা করছেন; একটু পরে আবার চেষ্টা করুন।",
    error_rate_limited: "খুব দ্রুত অনুরোধ পাঠানো হচ্ছে; একটু অপেক্ষা করে আবার চেষ্টা করুন।",
    error_token_revoked: "এই লিংক বা সাইন-ইন বাতিল করা হয়েছে; নতুন লিংক নিন বা আবার সাইন ইন করুন।",
    error_too_many_sockets: "এই লিংক দিয়ে অনেকগুলো ট্যাব খোলা আছে; অন্য একটি ট্যাব বন্ধ করে আবার চেষ্টা করুন।",
    error_queue_share_exceeded: "আপনার সংযোগ থেকে অনেক কল অপেক্ষায় আছে; তার একটির উত্তর পাওয়া পর্যন্ত অপেক্ষা করুন।",
    error_busy: "সার্ভারটি এই মুহূর্তে বন্ধ হচ্ছে; একটু পরে আবার চেষ্টা করুন।",
    error_invalid_message: "অনুরোধটি সঠিক ছিল না।",
    error_media_error: "অডিও/ভিডিও সংযোগে সমস্যা হয়েছে; আবার সংযোগ করা হচ্ছে।",
    error_internal_error: "সার্ভারে সমস্যা হয়েছে; আবার চেষ্টা করুন।",
    error_timeout: "সার্ভার সাড়া দিচ্ছে না; ইন্টারনেট সংযোগ দেখুন।",
    error_network: "সার্ভারে পৌঁছানো যাচ্ছে না; ইন্টারনেট সংযোগ দেখুন।",
    error_http_error: "সার্ভার অনুরোধটি গ্রহণ করেনি।",
    error_mic_denied:
      "মাইক্রোফোন (বা ক্যামেরা) ব্যবহারের অনুমতি দেওয়া হয়নি। ঠিকানার পাশের তালা চিহ্নে চেপে অনুমতি দিন।",
    error_no_device: "মাইক্রোফোন বা ক্যামেরা পাওয়া যায়নি।",
    error_device_busy: "মাইক্রোফোন বা ক্যামেরা অন্য কোনো অ্যাপ ব্যবহার করছে।",
    error_no_media_support: "এই ব্রাউজারে কল করা যাবে না; Chrome বা Firefox-এর নতুন সংস্করণ ব্যবহার করুন।",
    error_share_failed: "স্ক্রিন শেয়ার শুরু করা যায়নি।",
    error_guest_off: "এখান থেকে সরাসরি কল করা বন্ধ আছে; দোকানের অ্যাপ বা ওয়েবসাইট থেকে কল করুন।",
    error_unknown: "কোনো একটা সমস্যা হয়েছে ({message})।",

    floor_nodes_title: "সার্ভার",
    floor_nodes_label: "কল সেন্টারের সার্ভার ও প্রতিটির লোড",
    floor_node_calls: "{capacity}টির মধ্যে {calls}টি কল",
    floor_node_load: "{percent}% ব্যস্ত",
    floor_node_lag: "বিলম্ব {ms} মি.সে.",
    floor_node_lag_hint: "সার্ভারটি কত দেরিতে সাড়া দিচ্ছে (বেশি হলে সার্ভারটি ব্যস্ত)",
    floor_node_full: "পূর্ণ",
    floor_node_draining: "বন্ধ হচ্ছে",
    floor_node_draining_hint: "সার্ভারটি বন্ধ হচ্ছে: নতুন কল নিচ্ছে না",
    floor_call_node: "সার্ভার {node}",
    floor_call_node_hint: "যে সার্ভার এই কলের অডিও ও ভিডিও বহন করছে",
  },
  en: {
    page_title: "kotha — customer support",
    brand: "kotha",
    brand_tagline: "customer support",
    language_label: "Language",
    loading: "Loading…",

    start_heading: "Talk to our support team",
    start_text: "An agent will help you with your order, payment or delivery.",
    name_label: "Your name (optional)",
    name_placeholder: "e.g. Karim",
    call_support: "Call support",
    starting: "Getting your call ready…",

    choose_heading: "How would you like to talk?",
    voice_call: "Voice call",
    voice_call_hint: "Talk only",
    video_call: "Video call",
    video_call_hint: "Talk and camera",
    back: "Back",
    media_asking: "Turning on your microphone… allow it if the browser asks.",
    media_asking_video: "Turning on your camera and microphone… allow them if the browser asks.",

    waiting_heading: "Waiting for an agent",
    queue_position: "Your place in line: {position}",
    queue_position_unknown: "Finding your place in line…",
    requeued_next: "Your agent lost their connection. You are next in line for another agent.",
    requeued_position: "Your agent lost their connection. Your place in line: {position}",
    wait_estimate: "Estimated wait: {wait}",
    wait_now: "An agent will take your call now.",
    wait_no_agent: "No agent is taking calls right now. Your call will be answered as soon as one is.",
    waiting_keep_open: "Keep this page open.",
    cancel_call: "Cancel call",

    agent_joining: "The agent is joining…",
    agent_label: "Agent",
    agent_camera: "Agent's camera",
    agent_screen: "Agent's screen",
    your_camera: "You",
    your_screen: "You are sharing your screen",
    mute: "Mute",
    unmute: "Unmute",
    camera_off: "Camera off",
    camera_on: "Camera on",
    share_screen: "Share screen",
    stop_share: "Stop sharing",
    hang_up: "Hang up",
    you_are_muted: "You are muted — the agent cannot hear you.",
    agent_muted: "The agent muted their microphone.",
    agent_camera_off: "The agent's camera is off.",
    agent_gone: "The agent's connection dropped; waiting for them to come back…",
    recording_notice: "This call is recorded for quality and training.",
    recording_paused: "Recording is paused: it is safe to read out a card number or PIN.",
    on_hold: "You are on hold. Please stay on the line — your agent will be back shortly.",
    supervisor_joined: "Supervisor {name} joined the call",
    supervisor_joined_unnamed: "A supervisor joined the call",
    supervisor_hint: "They can hear you and talk with you.",
    enable_sound: "Tap here to hear the agent",

    conn_new: "Getting ready…",
    conn_connecting: "Connecting…",
    conn_connected: "Connected",
    conn_reconnecting: "Reconnecting…",
    conn_offline: "No internet connection — trying again…",
    media_retry_audio: "Reconnecting the audio in {seconds} s…",
    media_retry_video: "Reconnecting the audio and video in {seconds} s…",

    ended_heading: "The call has ended",
    ended_hung_up_self: "You hung up.",
    ended_hung_up_other: "The agent ended the call.",
    ended_hung_up: "The call ended.",
    ended_cancelled: "You cancelled the call.",
    ended_abandoned: "The wait ended because the connection was lost.",
    ended_disconnected: "The call ended because a connection was lost.",
    ended_expired: "This call link has expired.",
    ended_shutdown: "The call ended because the server restarted. Please try again shortly.",
    ended_interrupted: "The call was cut off by a server fault. We are sorry; please call again.",
    call_duration: "Call length: {duration}",
    thanks: "Thank you for calling!",
    call_again: "Call again",
    new_link_needed: "To talk again, start a new call from the shop's app or website.",

    rating_heading: "How was your call?",
    rating_legend: "Choose from 1 (very bad) to 5 (very good)",
    rating_1: "Very bad",
    rating_2: "Bad",
    rating_3: "Okay",
    rating_4: "Good",
    rating_5: "Very good",
    rating_chosen: "You chose {score} of 5: {words}",
    rating_comment_label: "Anything you would like to tell us? (optional)",
    rating_count: "{n}/{max} characters",
    rating_send: "Send",
    rating_retry: "Try again",
    rating_sending: "Sending…",
    rating_skip: "No thanks",
    rating_pick_first: "Choose from 1 to 5 first.",
    rating_failed: "Your rating was not sent. {reason} Press “Try again” to send it again.",
    rating_thanks: "Thank you! Your rating helps us serve you better.",
    rating_already: "This call has been rated already. Thank you!",
    rating_closed: "This call can no longer be rated.",

    no_link_heading: "No call link",
    no_link_text: "Press “call support” in the shop's app or website; it opens this page for you.",

    minutes: "{n} min",
    under_a_minute: "under a minute",
    lang_bn: "Bengali",
    lang_en: "English",
    lang_ko: "Korean (한국어)",
    lang_hi: "Hindi (हिन्दी)",
    call_language_label: "Language of the call",
    media_audio: "voice",
    media_video: "video",

    error_token_missing: "The call link is missing.",
    error_token_expired: "This call link has expired.",
    error_token_invalid: "This call link is not valid.",
    error_forbidden: "You are not allowed to do that.",
    error_not_found: "The call was not found.",
    error_call_state: "The call is not in a state that allows this.",
    error_queue_full: "Too many customers are waiting; please try again soon.",
    error_rate_limited: "Too many requests; wait a moment and try again.",
    error_token_revoked: "This link or sign-in was revoked; get a new link or sign in again.",
    error_too_many_sockets: "Too many tabs are open with this link; close one and try again.",
    error_queue_share_exceeded:
      "Too many calls from your connection are already waiting; please wait for one to be answered.",
    error_busy: "The server is shutting down right now; please try again in a moment.",
    error_invalid_message: "The request was not valid.",
    error_media_error: "The audio/video connection had a problem; reconnecting.",
    error_internal_error: "The server failed; please try again.",
    error_timeout: "The server is not answering; check your internet connection.",
    error_network: "Cannot reach the server; check your internet connection.",
    error_http_error: "The server did not accept the request.",
    error_mic_denied:
      "The microphone (or camera) is blocked. Tap the lock icon next to the address to allow it.",
    error_no_device: "No microphone or camera was found.",
    error_device_busy: "Another app is using the microphone or camera.",
    error_no_media_support: "Calls do not work in this browser; use a recent Chrome or Firefox.",
    error_share_failed: "Screen sharing could not start.",
    error_guest_off: "Calling from here is switched off; call from the shop's app or website.",
    error_unknown: "Something went wrong ({message}).",

    floor_nodes_title: "Servers",
    floor_nodes_label: "The call centre's servers and the load on each",
    floor_node_calls: "{calls} of {capacity} calls",
    floor_node_load: "{percent}% busy",
    floor_node_lag: "lag {ms} ms",
    floor_node_lag_hint: "How late the server answers (high when it is busy)",
    floor_node_full: "Full",
    floor_node_draining: "Draining",
    floor_node_draining_hint: "The server is shutting down: it takes no new calls",
    floor_call_node: "Server {node}",
    floor_call_node_hint: "The server that carries this call's audio and video",
  },
};

let current = "en";
const listeners = new Set();

/** The language to start with: the customer's earlier choice, else the browser's preference. */
export function preferredLanguage() {
  let stored = null;
  try {
    stored = localStorage.getItem(STORAGE_KEY);
  } catch {
    // Storage can be off (private mode on some phones): fall back to the browser.
  }
  if (LANGUAGES.includes(stored)) return stored;
  const first = (navigator.languages && navigator.languages[0]) || navigator.language || "";
  return first.toLowerCase().startsWith("bn") ? "bn" : "en";
}

export function language() {
  return current;
}

/** Switch language; `remember` keeps the choice for the next visit. */
export function setLanguage(lang, { remember = true } = {}) {
  if (!LANGUAGES.includes(lang)) return;
  current = lang;
  if (remember) {
    try {
      localStorage.setItem(STORAGE_KEY, lang);
    } catch {
      // Not remembered; the page still works.
    }
  }
  document.documentElement.lang = lang;
  translatePage();
  for (const listener of listeners) listener(lang);
}

export function onLanguageChange(listener) {
  listeners.add(listener);
}

/** The string `key` in the current language, with `{name}` placeholders filled in. */
export function t(key, params = {}) {
  return tFor(current, key, params);
}

/** True when the English table (every key is there) has `key`. */
export function has(key) {
  return key in STRINGS.en;
}

export function tFor(lang, key, params = {}) {
  const table = STRINGS[lang] || STRINGS.en;
  const template = table[key] ?? STRINGS.en[key] ?? key;
  return template.replace(/\{(\w+)\}/g, (_, name) =>
    name in params ? formatValue(lang, params[name]) : `{${name}}`,
  );
}

/** Fill every element marked data-i18n (text) and data-i18n-placeholder/-label (attributes). */
export function translatePage(root = document) {
  for (const el of root.querySelectorAll("[data-i18n]")) el.textContent = t(el.dataset.i18n);
  for (const el of root.querySelectorAll("[data-i18n-placeholder]")) {
    el.placeholder = t(el.dataset.i18nPlaceholder);
  }
  for (const el of root.querySelectorAll("[data-i18n-label]")) {
    el.setAttribute("aria-label", t(el.dataset.i18nLabel));
  }
  if (STRINGS[current].page_title && root === document) document.title = t("page_title");
}

/** A number in the current language's digits (Bengali digits for bn). */
export function formatNumber(n, lang = current) {
  return new Intl.NumberFormat(lang === "bn" ? "bn-BD" : "en-US").format(n);
}

/** mm:ss, or h:mm:ss past an hour, in the language's digits. */
export function formatClock(seconds, lang = current) {
  const s = Math.max(0, Math.floor(seconds));
  const h = Math.floor(s / 3600);
  const pad = (v) => formatNumber(v, lang).padStart(2, formatNumber(0, lang));
  const tail = `${pad(Math.floor((s % 3600) / 60))}:${pad(s % 60)}`;
  return h ? `${formatNumber(h, lang)}:${tail}` : tail;
}

/** A wait estimate in words, rounded up to whole minutes (people read waits in minutes). */
export function formatWait(seconds, lang = current) {
  if (seconds < 60) return tFor(lang, "under_a_minute");
  return tFor(lang, "minutes", { n: Math.ceil(seconds / 60) });
}

/** An error (a server error object, or one from getUserMedia) in words. */
export function describeError(error, lang = current) {
  const code = error?.code || "unknown";
  const key = `error_${code}`;
  if (key in STRINGS.en) return tFor(lang, key);
  return tFor(lang, "error_unknown", { message: error?.message || code });
}

function formatValue(lang, value) {
  return typeof value === "number" ? formatNumber(value, lang) : String(value);
}
