// Sends a chat message and shows the reply as it streams (Server-Sent Events over fetch).
// Tokens are added as text, never as HTML; the finished answer is replaced by the HTML the
// server rendered and escaped.
(function () {
  const form = document.getElementById("send");
  if (!form) return;
  const list = document.getElementById("messages");
  const textarea = document.getElementById("content");
  const button = form.querySelector("button");
  const token = form.querySelector("input[name=_csrf_token]").value;

  function bubble(role, text) {
    const item = document.createElement("li");
    item.className = "message " + role;
    const body = document.createElement("div");
    body.className = "body";
    body.textContent = text;
    item.appendChild(body);
    list.appendChild(item);
    return item;
  }

  function note(item, className, text) {
    const paragraph = document.createElement("p");
    paragraph.className = className;
    paragraph.textContent = text;
    item.appendChild(paragraph);
  }

  // A tool the model called, folded above the answer: filled in when its result arrives.
  function toolCalled(item, call) {
    const details = document.createElement("details");
    details.className = "tool";
    details.dataset.call = call.id;
    const summary = document.createElement("summary");
    summary.append("Tool ");
    const name = document.createElement("code");
    name.textContent = call.name;
    summary.appendChild(name);
    summary.append(" (running)");
    details.appendChild(summary);
    item.insertBefore(details, item.querySelector(".body"));
  }

  function toolAnswered(item, result) {
    const details = Array.from(item.querySelectorAll("details.tool")).find(
      (candidate) => candidate.dataset.call === result.id
    );
    if (!details) return;
    const summary = details.querySelector("summary");
    summary.lastChild.textContent = result.error ? ": " + result.error : "";
    if (result.error) details.classList.add("failed");
    const args = document.createElement("p");
    args.append("Arguments: ");
    const code = document.createElement("code");
    code.textContent = result.arguments;
    args.appendChild(code);
    const content = document.createElement("pre");
    content.textContent = result.content;
    details.append(args, content);
  }

  form.addEventListener("submit", async function (event) {
    event.preventDefault();
    const content = textarea.value.trim();
    if (!content) return;
    button.disabled = true;
    bubble("user", content);
    textarea.value = "";
    const answer = bubble("assistant streaming", "");
    const body = answer.querySelector(".body");
    try {
      const response = await fetch(form.action, {
        method: "POST",
        headers: { "content-type": "application/json", "x-site-csrf": token },
        body: JSON.stringify({ content: content }),
      });
      if (!response.ok) {
        const problem = await response.json().catch(() => ({}));
        note(answer, "error", problem.detail || "The message was not accepted (" + response.status + ").");
        return;
      }
      const reader = response.body.getReader();
      const decoder = new TextDecoder();
      let buffer = "";
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        buffer += decoder.decode(value, { stream: true }).replace(/\r\n/g, "\n");
        let end;
        while ((end = buffer.indexOf("\n\n")) >= 0) {
          const frame = buffer.slice(0, end);
          buffer = buffer.slice(end + 2);
          let kind = "message";
          const data = [];
          for (const line of frame.split("\n")) {
            if (line.startsWith("event:")) kind = line.slice(6).trim();
            else if (line.startsWith("data:")) data.push(line.slice(5).replace(/^ /, ""));
          }
          const payload = JSON.parse(data.join("\n"));
          if (kind === "token") body.textContent += payload;
          else if (kind === "error") note(answer, "error", payload);
          else if (kind === "notice") note(answer, "notice", payload);
          else if (kind === "tool_call") toolCalled(answer, payload);
          else if (kind === "tool_result") toolAnswered(answer, payload);
          else if (kind === "done") {
            body.innerHTML = payload.html; // rendered and escaped by the server
            answer.className = "message assistant " + payload.status;
            note(answer, "note", payload.provider);
          }
        }
      }
    } catch (error) {
      note(answer, "error", "The connection broke off: " + error.message);
    } finally {
      button.disabled = false;
    }
  });
})();
