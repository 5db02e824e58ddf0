/* A Web Worker stand-in for pages opened from disk (file://), where browsers refuse to start a
   Worker from a file. MkDocs Material's search runs in a worker; its offline plugin expects a
   shim like this one and, unless one is configured, loads one from unpkg.com, which an offline
   site cannot reach. Written for listenspec: the worker's script runs in a hidden iframe of the
   page's own origin; messages go both ways as MessageEvents. */
(function () {
  "use strict";
  if (location.protocol !== "file:" || typeof window === "undefined") return;

  function IframeWorker(url) {
    var worker = this;
    url = new URL(url, location.href).href;
    var listeners = [];
    var queue = [];
    var ready = false;
    var frame = document.createElement("iframe");
    frame.setAttribute("aria-hidden", "true");
    frame.style.display = "none";
    document.documentElement.appendChild(frame);
    var scope = frame.contentWindow;

    this.onmessage = null;
    this.onerror = null;

    function toPage(data) {
      var ev = {data: data, target: worker};
      if (typeof worker.onmessage === "function") worker.onmessage(ev);
      listeners.slice().forEach(function (fn) { fn(ev); });
    }
    function toWorker(data) {
      scope.dispatchEvent(new scope.MessageEvent("message", {data: data}));
    }
    function load(src) {
      return new Promise(function (resolve, reject) {
        var s = scope.document.createElement("script");
        s.src = new URL(src, url).href;
        s.onload = function () { resolve(); };
        s.onerror = function () { reject(new Error("cannot load " + s.src)); };
        scope.document.head.appendChild(s);
      });
    }

    // The worker's global scope: what it calls to answer, and to load more scripts (in order;
    // Material's search worker awaits the result).
    scope.postMessage = toPage;
    scope.importScripts = function () {
      var srcs = Array.prototype.slice.call(arguments);
      return srcs.reduce(function (p, src) { return p.then(function () { return load(src); }); },
                         Promise.resolve());
    };

    load(url).then(function () {
      ready = true;
      queue.splice(0).forEach(toWorker);
    }, function (err) {
      if (typeof worker.onerror === "function") worker.onerror(err);
    });

    this.postMessage = function (data) { if (ready) toWorker(data); else queue.push(data); };
    this.addEventListener = function (type, fn) { if (type === "message") listeners.push(fn); };
    this.removeEventListener = function (type, fn) {
      listeners = listeners.filter(function (l) { return l !== fn; });
    };
    this.terminate = function () { frame.remove(); };
  }

  window.Worker = IframeWorker;
})();
