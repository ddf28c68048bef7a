// Where a page keeps its token: it arrives in the URL fragment (#token=...),
// which browsers never send to a server, and is moved to sessionStorage so a
// reload of the same tab rejoins the same call while the address bar, history
// and anything the customer copies or screenshots no longer show it.

/**
 * The claims of a JWT (read, not verified: the server verifies), `{}` when it is not one.
 * For showing who is signed in and when the token runs out.
 */
export function tokenClaims(token) {
  try {
    const part = token.split(".")[1].replace(/-/g, "+").replace(/_/g, "/");
    const bytes = Uint8Array.from(atob(part), (c) => c.charCodeAt(0));
    return JSON.parse(new TextDecoder().decode(bytes));
  } catch {
    return {};
  }
}

export class TokenStore {
  /** @param {string} key sessionStorage key (one per page, so a customer and an agent tab never mix). */
  constructor(key) {
    this.key = key;
  }

  /** Take a token from the fragment if there is one (and strip it), else the stored one. */
  take() {
    const fragment = new URLSearchParams(location.hash.slice(1));
    const fresh = fragment.get("token");
    if (fresh) {
      this.save(fresh);
      fragment.delete("token");
      const rest = fragment.toString();
      history.replaceState(history.state, "", location.pathname + location.search + (rest ? `#${rest}` : ""));
      return fresh;
    }
    return this.load();
  }

  load() {
    try {
      return sessionStorage.getItem(this.key);
    } catch {
      return null;
    }
  }

  save(token) {
    try {
      sessionStorage.setItem(this.key, token);
    } catch {
      // Without storage a reload loses the call; the call itself still works.
    }
  }

  clear() {
    try {
      sessionStorage.removeItem(this.key);
    } catch {
      // Nothing stored, nothing to clear.
    }
  }
}
