import type { Comment } from "./api";

const MENTION = /@([a-z0-9_]{2,32})/gi;

function renderBody(el: HTMLElement, body: string): void {
  const html = body.replace(MENTION, (_m, user: string) => `<a href="/u/${user}">@${user}</a>`);
  el.innerHTML = html;
}

export function renderComments(container: HTMLElement, comments: Comment[]): void {
  container.replaceChildren();
  for (const c of comments) {
    const item = document.createElement("li");
    item.className = "comment";
    const meta = document.createElement("div");
    meta.className = "comment-meta";
    meta.innerHTML = `<strong>${c.authorName}</strong> · ${new Date(c.createdAt).toLocaleString()}`;
    if (c.editedAt) {
      const edited = document.createElement("span");
      edited.className = "comment-edited";
      edited.textContent = " (edited)";
      meta.append(edited);
    }
    const body = document.createElement("div");
    body.className = "comment-body";
    renderBody(body, c.body);
    item.append(meta, body);
    container.append(item);
  }
}
