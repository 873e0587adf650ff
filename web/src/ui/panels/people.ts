/** People panel: who is here (name, colour, typing), and follow someone's view. */
import type { Presence } from "@annotd/client";
import type { Identity } from "../dialog";
import { button, h } from "../dom";
import type { Panel, Shell } from "../shell";

/** The People panel lists presence, shows who we are, and starts or stops following. */
interface PeoplePanelContext {
  readonly identity: Pick<Identity, "name" | "color">;
  readonly presence: Pick<Presence, "peers" | "on">;
  readonly shell: Pick<Shell, "setBadge">;
  readonly following: string | null;
  follow(session: string | null): void;
  onFollowChange(l: () => void): () => void;
  changeIdentity(): Promise<void>;
}

export function peoplePanel(app: PeoplePanelContext): Panel {
  return {
    id: "people",
    title: "People",
    order: 20,
    mount(body) {
      const list = h("ul", { class: "people", "aria-label": "People in this room" });
      const me = h("p", { class: "me" });
      const rename = button("Change your name or colour", { text: "Change name…", cls: "link", onClick: () => app.changeIdentity() });
      body.append(me, rename, list);
      const refresh = () => {
        me.replaceChildren(h("span", { class: "dot", style: `--c:${app.identity.color}` }), `${app.identity.name} (you)`);
        const peers = [...app.presence.peers.values()].sort((a, b) => a.name.localeCompare(b.name));
        list.replaceChildren(
          ...peers.map((p) => {
            const following = app.following === p.session;
            const follow = button(following ? `Stop following ${p.name}` : `Follow ${p.name}`, {
              text: following ? "Stop following" : "Follow", cls: following ? "follow on" : "follow", pressed: following,
              onClick: () => app.follow(following ? null : p.session),
            });
            follow.disabled = !following && p.viewport === null;
            return h("li", { "data-session": p.session, "data-user": p.userId },
              h("span", { class: "dot", style: `--c:${p.color}` }), h("span", { class: "name" }, p.name),
              p.typing ? h("span", { class: "typing" }, " typing…") : null, follow);
          }),
        );
        if (peers.length === 0) list.append(h("li", { class: "empty" }, "Nobody else is here yet. Share this page's address to invite someone."));
        app.shell.setBadge("people", peers.length ? String(peers.length) : null);
      };
      app.presence.on("change", refresh);
      app.onFollowChange(refresh);
      refresh();
    },
  };
}
