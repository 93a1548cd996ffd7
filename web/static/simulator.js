// The WeChat-style simulator: every action goes through /simulator/api/send,
// which signs it as WeChat would and delivers it to the real webhook path.
(function () {
  "use strict";
  const USERS = ["sim_alice", "sim_bob", "sim_carol"];
  const VOICE_EXAMPLES = [
    "嗯那个我想买点赣南脐橙",
    "有没有云南的土鸡蛋五十块以内",
    "我想想啊来两斤柞水木耳",
    "我要卖脐橙三块五一斤有三百斤",
  ];
  const LINK = /<a href="(https?:\/\/[^"]+)">([^<]*)<\/a>/g;
  const history = {};
  let current = USERS[0];

  const $ = (id) => document.getElementById(id);
  const messages = $("messages");

  function contentNodes(text) {
    // Only the bot's own <a href> links become anchors; everything else stays text.
    const fragment = document.createDocumentFragment();
    let last = 0;
    for (const match of text.matchAll(LINK)) {
      fragment.append(text.slice(last, match.index));
      const anchor = document.createElement("a");
      anchor.href = match[1];
      anchor.target = "_blank";
      anchor.rel = "noopener";
      anchor.textContent = match[2];
      fragment.append(anchor);
      last = match.index + match[0].length;
    }
    fragment.append(text.slice(last));
    return fragment;
  }

  function draw(entry) {
    const row = document.createElement("div");
    row.className = "row " + entry.who;
    if (entry.who !== "system") {
      const avatar = document.createElement("div");
      avatar.className = "avatar";
      avatar.textContent = entry.who === "bot" ? "农" : "我";
      row.append(avatar);
    }
    const bubble = document.createElement("div");
    bubble.className = "bubble " + entry.who;
    bubble.append(contentNodes(entry.text));
    row.append(bubble);
    messages.append(row);
    messages.scrollTop = messages.scrollHeight;
  }

  function add(openid, who, text) {
    (history[openid] = history[openid] || []).push({ who, text });
    if (openid === current) draw({ who, text });
  }

  function redraw() {
    messages.replaceChildren();
    (history[current] || []).forEach(draw);
  }

  async function send(payload, shown) {
    const openid = current;
    if (shown) add(openid, "user", shown);
    try {
      const response = await fetch("/simulator/api/send", {
        method: "POST",
        headers: { "Content-Type": "application/json" },
        body: JSON.stringify(Object.assign({ openid }, payload)),
      });
      const data = await response.json();
      if (!response.ok) {
        add(openid, "system", "（出错了：" + (data.error || response.status) + "）");
        return;
      }
      data.replies.forEach((text) => add(openid, "bot", text));
    } catch (error) {
      add(openid, "system", "（连不上服务器）");
    }
  }

  async function poll() {
    for (const openid of Object.keys(history)) {
      try {
        const response = await fetch("/simulator/api/poll?openid=" + encodeURIComponent(openid));
        if (response.ok) (await response.json()).replies.forEach((t) => add(openid, "bot", t));
      } catch (error) { /* the next poll tries again */ }
    }
  }

  function open(openid) {
    current = openid;
    redraw();
    if (!history[openid]) {
      history[openid] = [];
      send({ kind: "subscribe" }, null);  // first open: the user follows the account
    }
  }

  function setUpUsers() {
    const select = $("user-select");
    USERS.forEach((openid) => select.append(new Option(openid, openid)));
    select.append(new Option("新用户…", "__new__"));
    select.addEventListener("change", () => {
      if (select.value === "__new__") {
        const openid = "sim_" + Math.random().toString(36).slice(2, 8);
        select.insertBefore(new Option(openid, openid), select.lastElementChild);
        select.value = openid;
      }
      open(select.value);
    });
  }

  function setUpComposer() {
    $("composer").addEventListener("submit", (event) => {
      event.preventDefault();
      const text = $("input").value.trim();
      if (!text) return;
      $("input").value = "";
      send({ kind: "text", text }, text);
    });
    document.querySelectorAll(".menu button").forEach((button) =>
      button.addEventListener("click", () =>
        send({ kind: "click", key: button.dataset.key }, "【菜单】" + button.textContent)));
  }

  function setUpVoice() {
    const panel = $("voice-panel");
    $("voice-toggle").addEventListener("click", () => { panel.hidden = !panel.hidden; });
    VOICE_EXAMPLES.forEach((example) => {
      const chip = document.createElement("button");
      chip.type = "button";
      chip.textContent = example;
      chip.addEventListener("click", () => { $("voice-text").value = example; });
      $("voice-examples").append(chip);
    });
    $("voice-send").addEventListener("click", () => {
      const text = $("voice-text").value.trim();
      send({ kind: "voice", text }, "🎤 " + (text || "（语音）"));
    });
    $("voice-empty").addEventListener("click", () => send({ kind: "voice", text: "" }, "🎤 （语音，无识别文字）"));
  }

  setUpUsers();
  setUpComposer();
  setUpVoice();
  open(current);
  setInterval(poll, 2000);
})();
