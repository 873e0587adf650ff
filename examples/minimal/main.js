// A minimal annotd frontend on @annotd/client: the base image, rectangles drawn by drag
// (live for everyone while you drag), other people's cursors and the comment list.
// Open index.html?ws=ws://127.0.0.1:8765&http=http://127.0.0.1:8766&room=demo&name=Ann
import { CanvasDoc, Presence, RoomSocket, readThreads } from "@annotd/client";
import * as Y from "yjs";

const q = new URLSearchParams(location.search);
const room = q.get("room") ?? "demo";
const name = q.get("name") ?? "Guest";
const http = q.get("http") ?? "http://127.0.0.1:8766";
const userId = `${name}#${Math.random().toString(36).slice(2, 6)}`;
const color = q.get("color") ?? "#1971c2";

const doc = new Y.Doc();
const socket = new RoomSocket({ url: q.get("ws") ?? "ws://127.0.0.1:8765", roomId: room, userId, doc });
const canvas = new CanvasDoc(doc, userId);
const presence = new Presence(socket, name, color);
const $ = (id) => document.getElementById(id);
const SVG = "http://www.w3.org/2000/svg";

function svg(tag, attrs) {
  const el = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs)) el.setAttribute(k, String(v));
  return el;
}

// Connection state, in words.
socket.on("state", (s) => ($("status").textContent = s));
socket.on("synced", () => (document.body.dataset.synced = "true"));
socket.on("closed", (c) => c.final && ($("status").textContent = `closed: ${c.meaning || c.reason}`));

// The base image: the SVG's coordinates are the image's pixels.
function showImage(img) {
  $("image").replaceChildren();
  if (img === null) return;
  $("stage").setAttribute("viewBox", `0 0 ${img.width} ${img.height}`);
  const url = `${http}/v1/rooms/${encodeURIComponent(room)}/image?sha256=${img.sha256}`;
  $("image").append(svg("image", { href: url, width: img.width, height: img.height }));
}
canvas.onImage(showImage);

// Rectangles, redrawn from the document whenever it changes (anyone's edit).
function showShapes() {
  const shapes = canvas.list().filter((a) => a.type === "rect").map((a) => svg("rect", {
    class: "annotation", "data-annotation-id": a.id, x: a.x, y: a.y, width: a.w, height: a.h,
    fill: a.style.fill, stroke: a.style.stroke, "stroke-width": a.style.strokeWidth,
  }));
  $("shapes").replaceChildren(...shapes);
}
canvas.onChange(showShapes);

// Drawing: one rectangle per drag, written to the document on every move.
const stage = $("stage");
let drawing = null;
function imagePoint(ev) {
  const p = new DOMPoint(ev.clientX, ev.clientY).matrixTransform(stage.getScreenCTM().inverse());
  return { x: Math.round(p.x), y: Math.round(p.y) };
}
stage.addEventListener("pointerdown", (ev) => {
  const start = imagePoint(ev);
  stage.setPointerCapture(ev.pointerId);
  drawing = { start, id: canvas.create({ type: "rect", x: start.x, y: start.y, w: 1, h: 1, style: { stroke: color } }) };
});
stage.addEventListener("pointermove", (ev) => {
  const p = imagePoint(ev);
  presence.set({ cursor: p });
  if (drawing === null) return;
  const { start, id } = drawing;
  canvas.patch(id, { x: Math.min(start.x, p.x), y: Math.min(start.y, p.y),
    w: Math.max(1, Math.abs(p.x - start.x)), h: Math.max(1, Math.abs(p.y - start.y)) });
});
stage.addEventListener("pointerup", () => (drawing = null));
stage.addEventListener("pointerleave", () => presence.set({ cursor: null }));

// Other people's cursors, with their names (as text: never parsed as markup).
presence.on("change", () => {
  const cursors = [];
  for (const peer of presence.peers.values()) {
    if (peer.cursor === null) continue;
    const g = svg("g", { class: "cursor", transform: `translate(${peer.cursor.x} ${peer.cursor.y})` });
    g.append(svg("circle", { r: 5, fill: peer.color }));
    const label = svg("text", { x: 8, y: -8, fill: peer.color });
    label.textContent = peer.name;
    g.append(label);
    cursors.push(g);
  }
  $("cursors").replaceChildren(...cursors);
});

// The comment list, read from the document (comments.create over the socket writes one).
function showComments() {
  const items = readThreads(canvas.comments).map((t) => {
    const li = document.createElement("li");
    const first = t.messages[0];
    li.textContent = first ? `${first.body} — ${first.author.split("#")[0]}` : "(empty thread)";
    li.dataset.status = t.status;
    return li;
  });
  $("comments").replaceChildren(...items);
}
canvas.comments.observeDeep(showComments);

socket.connect();
showImage(canvas.image());
showShapes();
showComments();
