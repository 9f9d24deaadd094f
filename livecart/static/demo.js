// The demo page: each phone shows one simulated user's chat with the bot, read from the
// Telegram simulator's control API, and acts as that user through the same API. New and
// edited messages arrive by Server-Sent Events. Bot text is rendered from its parsed text and
// entities as DOM text nodes, never as markup, so nothing the bot sends can inject markup.
(function () {
  "use strict";
  var config = JSON.parse(document.getElementById("demo-config").textContent);
  var T = config.text;
  var control = config.control;
  var phones = {};
  // A bot deep link (https://t.me/<bot>?start=<payload>) opens the chat with /start <payload>.
  var DEEP_LINK = /^https?:\/\/t\.me\/[A-Za-z0-9_]{3,32}\?start=([A-Za-z0-9_-]{1,64})$/;
  var TAGS = {
    bold: "strong", italic: "em", underline: "u", strikethrough: "s", code: "code",
    pre: "code", spoiler: "span", blockquote: "span", expandable_blockquote: "span",
    text_link: "a", url: "a"
  };

  function el(tag, className, text) {
    var node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined && text !== null) node.textContent = text;
    return node;
  }

  function safeUrl(url) {
    return /^(https?:|tg:)/i.test(url || "") ? url : null;
  }

  function apiError(response) {
    return response.json().then(
      function (body) {
        var detail = body && body.detail;
        throw new Error(typeof detail === "string" ? detail : JSON.stringify(detail));
      },
      function () { throw new Error(String(response.status)); }
    );
  }

  function request(method, path, body) {
    var options = { method: method, headers: {} };
    if (body !== undefined) {
      options.headers["content-type"] = "application/json";
      options.body = JSON.stringify(body);
    }
    return fetch(control + path, options).then(function (response) {
      return response.ok ? response.json() : apiError(response);
    });
  }

  // Text with Telegram entities (offsets in UTF-16 code units, like JavaScript strings).
  function formatted(text, entities) {
    var fragment = document.createDocumentFragment();
    if (!text) return fragment;
    var list = (entities || []).filter(function (e) { return e.length > 0 && TAGS[e.type]; });
    // Telegram apps turn a bare address into a link even when the bot sent plain text
    var bare = /https?:\/\/[^\s<>"]+[^\s<>".,;:!?)]/g, found;
    while ((found = bare.exec(text)) !== null) {
      var at = found.index, length = found[0].length;
      var covered = list.some(function (e) {
        return (e.type === "url" || e.type === "text_link") &&
          e.offset < at + length && at < e.offset + e.length;
      });
      if (!covered) list.push({ type: "url", offset: at, length: length });
    }
    var cuts = [0, text.length];
    list.forEach(function (e) { cuts.push(e.offset, e.offset + e.length); });
    cuts = cuts.filter(function (c, i) { return cuts.indexOf(c) === i && c <= text.length; });
    cuts.sort(function (a, b) { return a - b; });
    for (var i = 0; i + 1 < cuts.length; i++) {
      var start = cuts[i], end = cuts[i + 1];
      var node = document.createTextNode(text.slice(start, end));
      list.filter(function (e) { return e.offset <= start && e.offset + e.length >= end; })
        .sort(function (a, b) { return b.offset - a.offset || a.length - b.length; })
        .forEach(function (e) { node = wrap(e, node, text.slice(e.offset, e.offset + e.length)); });
      fragment.appendChild(node);
    }
    return fragment;
  }

  function wrap(entity, child, whole) {
    var node = el(TAGS[entity.type], "entity-" + entity.type);
    if (entity.type === "text_link" || entity.type === "url") {
      var href = safeUrl(entity.type === "url" ? whole : entity.url);
      if (!href) return child;
      node.href = href;
      node.target = "_blank";
      node.rel = "noopener";
    }
    node.appendChild(child);
    return node;
  }

  function Phone(section) {
    this.section = section;
    this.userId = Number(section.dataset.userId);
    this.chat = section.querySelector(".chat");
    this.toastEl = section.querySelector(".toast");
    this.keyboard = section.querySelector(".reply-keyboard");
    this.input = section.querySelector("input[name=text]");
    this.messages = {};
    this.nodes = {};
    var self = this;
    section.querySelector(".composer").addEventListener("submit", function (event) {
      event.preventDefault();
      var text = self.input.value;
      if (!text.trim()) return;
      self.act("/text", { text: text }).then(function () { self.input.value = ""; });
    });
    section.querySelectorAll(".shortcut").forEach(function (button) {
      button.addEventListener("click", function () { self.say(button.dataset.text); });
    });
  }

  Phone.prototype.act = function (path, body) {
    var self = this;
    return request("POST", "/users/" + this.userId + path, body).catch(function (error) {
      self.toast(T.not_sent.replace("{reason}", error.message));
      throw error;
    });
  };

  Phone.prototype.say = function (text) {
    return this.act("/text", { text: text }).catch(function () {});
  };

  Phone.prototype.toast = function (text) {
    var toast = this.toastEl;
    toast.textContent = text;
    clearTimeout(this.toastTimer);
    this.toastTimer = setTimeout(function () { toast.textContent = ""; }, 6000);
  };

  Phone.prototype.load = function () {
    var self = this;
    return request("GET", "/chats/" + this.userId + "/messages").then(function (list) {
      var before = self.messages;
      self.messages = {};
      self.nodes = {};
      self.chat.textContent = "";
      list.forEach(function (message) { self.upsert(message, true); });
      // an event that arrived while the list was on its way is newer than the list
      Object.keys(before).forEach(function (id) {
        if (!self.messages[id]) self.upsert(before[id], true);
      });
      self.renderKeyboard();
      self.renderEmpty();
      self.chat.scrollTop = self.chat.scrollHeight;
    });
  };

  Phone.prototype.upsert = function (message, quiet) {
    var id = message.message_id;
    var isNew = !this.messages[id];
    this.messages[id] = message;
    var old = this.nodes[id];
    var focused = old && old.contains(document.activeElement) ? document.activeElement : null;
    var node = this.render(message);
    this.nodes[id] = node;
    if (old) {
      this.chat.replaceChild(node, old);
    } else {
      var next = null;
      Object.keys(this.nodes).forEach(function (key) {
        if (Number(key) > id && (!next || Number(key) < Number(next.dataset.messageId))) {
          next = this.nodes[key];
        }
      }, this);
      this.chat.insertBefore(node, next && next.parentNode === this.chat ? next : null);
    }
    if (focused) restoreFocus(node, focused);
    if (!quiet) {
      this.renderKeyboard();
      this.renderEmpty();
      if (isNew) this.chat.scrollTop = this.chat.scrollHeight;
    }
  };

  function restoreFocus(node, focused) {
    var label = focused.textContent;
    var same = Array.prototype.filter.call(
      node.querySelectorAll("button, a"), function (b) { return b.textContent === label; });
    var target = same[0] || node.querySelector("button, a") || node;
    target.focus();
  }

  Phone.prototype.render = function (message) {
    var node = el("li", "message " + (message.from_bot ? "from-bot" : "from-user"));
    node.dataset.messageId = message.message_id;
    node.tabIndex = -1;
    node.appendChild(el("span", "visually-hidden", message.from_bot ? T.bot : T.you));
    if (message.deleted) {
      node.appendChild(el("p", "deleted", T.deleted));
      return node;
    }
    if (message.photo_file_id) {
      var image = el("img", "photo");
      image.src = control + "/files/" + encodeURIComponent(message.photo_file_id);
      image.alt = T.photo; // the caption follows as text
      var chat = this.chat;
      image.addEventListener("load", function () {
        if (chat.lastElementChild === node) chat.scrollTop = chat.scrollHeight;
      });
      node.appendChild(image);
    }
    if (message.document_file_id) {
      var doc = el("a", "document", "📄 " + ((message.document || {}).file_name || T.document));
      doc.href = control + "/files/" + encodeURIComponent(message.document_file_id);
      doc.target = "_blank";
      doc.rel = "noopener";
      node.appendChild(doc);
    }
    if (message.plain_text) {
      var text = el("p", "text");
      text.appendChild(formatted(message.plain_text, message.entities));
      node.appendChild(text);
    }
    if (message.plain_caption) {
      var caption = el("p", "text caption");
      caption.appendChild(formatted(message.plain_caption, message.caption_entities));
      node.appendChild(caption);
    }
    if (message.contact) {
      node.appendChild(el("p", "text contact", "📞 " + message.contact.phone_number));
    }
    var markup = message.reply_markup;
    if (message.from_bot && markup && markup.inline_keyboard) {
      node.appendChild(this.inlineKeyboard(message, markup.inline_keyboard));
    }
    if (message.edits > 0) node.appendChild(el("span", "edited", T.edited));
    return node;
  };

  Phone.prototype.inlineKeyboard = function (message, rows) {
    var self = this;
    var box = el("div", "inline-keyboard");
    rows.forEach(function (row) {
      var line = el("div", "keyboard-row");
      row.forEach(function (button) { line.appendChild(self.inlineButton(message, button)); });
      box.appendChild(line);
    });
    return box;
  };

  Phone.prototype.inlineButton = function (message, button) {
    var self = this;
    var url = safeUrl(button.url);
    var deepLink = url && DEEP_LINK.exec(url);
    if (url && !deepLink) {
      var link = el("a", "key url", button.text);
      link.href = url;
      link.target = "_blank";
      link.rel = "noopener";
      link.appendChild(el("span", "visually-hidden", " (" + T.opens_new_tab + ")"));
      link.appendChild(el("span", "arrow", " ↗"));
      return link;
    }
    var key = el("button", "key", button.text);
    key.type = "button";
    if (deepLink) {
      key.addEventListener("click", function () { self.say("/start " + deepLink[1]); });
    } else if (button.callback_data !== undefined) {
      key.addEventListener("click", function () {
        self.act("/press", { message_id: message.message_id, data: button.callback_data })
          .catch(function () {});
      });
    } else {
      key.disabled = true;
    }
    return key;
  };

  // The reply keyboard the user sees: set by the bot's last message that sent one or removed it.
  Phone.prototype.renderKeyboard = function () {
    var current = null;
    Object.keys(this.messages).map(Number).sort(function (a, b) { return a - b; })
      .forEach(function (id) {
        var m = this.messages[id];
        var markup = m.from_bot && m.reply_markup;
        if (!markup) return;
        if (markup.keyboard) current = markup;
        else if (markup.remove_keyboard) current = null;
      }, this);
    var self = this;
    var box = this.keyboard;
    var focusedLabel = box.contains(document.activeElement) ? document.activeElement.textContent : null;
    box.textContent = "";
    box.hidden = !current;
    if (!current) return;
    box.setAttribute("aria-label", T.keyboard);
    current.keyboard.forEach(function (row) {
      var line = el("div", "keyboard-row");
      row.forEach(function (button) {
        var label = typeof button === "string" ? button : button.text;
        var key = el("button", "key reply" + (button.request_contact ? " contact" : ""), label);
        key.type = "button";
        if (button.request_contact) key.title = T.share_phone;
        key.addEventListener("click", function () {
          self.act("/reply_button", { text: label }).catch(function () {});
        });
        line.appendChild(key);
        if (label === focusedLabel) setTimeout(function () { key.focus(); }, 0);
      });
      box.appendChild(line);
    });
  };

  Phone.prototype.renderEmpty = function () {
    var empty = this.chat.querySelector(".empty");
    var has = Object.keys(this.messages).length > 0;
    if (has && empty) empty.remove();
    if (!has && !empty) this.chat.appendChild(el("li", "empty", T.empty));
  };

  function loadAll() {
    Object.keys(phones).forEach(function (id) { phones[id].load().catch(function () {}); });
  }

  function listen() {
    var status = document.getElementById("connection");
    var source = new EventSource(control + "/events");
    var lost = false;
    function onMessage(event) {
      var message = JSON.parse(event.data).message;
      var phone = message && phones[message.chat_id];
      if (phone) phone.upsert(message);
    }
    ["message_sent", "message_edited", "message_deleted", "user_message"].forEach(function (type) {
      source.addEventListener(type, onMessage);
    });
    source.addEventListener("callback_answered", function (event) {
      var callback = JSON.parse(event.data).callback;
      var phone = callback && phones[callback.chat_id];
      if (phone && callback.text) phone.toast(callback.text);
    });
    source.addEventListener("reset", loadAll);
    source.onopen = function () {
      status.textContent = "";
      document.body.dataset.live = "yes";
      if (lost) loadAll(); // events sent while we were away are not replayed
      lost = false;
    };
    source.onerror = function () {
      lost = true;
      document.body.dataset.live = "no";
      status.textContent = T.offline;
    };
  }

  document.querySelectorAll(".phone").forEach(function (section) {
    var phone = new Phone(section);
    phones[phone.userId] = phone;
  });
  listen();
  loadAll();
})();
