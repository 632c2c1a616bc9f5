"""An RTSP server for the tests: GStreamer's gst-rtsp-server streaming H.264 frames that show their index.

Runs under the system python3 (Debian's python3-gi and gir1.2-gst-rtsp-server-1.0 exist only for it), so
it uses no NumPy and no framepipe: it draws framepipe.tools.synthetic's 4x4 index pattern on a grey frame
itself.

    /usr/bin/python3 tests/support/rtsp_server.py PORT [FPS] [WIDTH] [HEIGHT]

serves rtsp://127.0.0.1:PORT/live, a fresh stream starting at frame 0 for every client.
"""

import sys

import gi

gi.require_version("Gst", "1.0")
gi.require_version("GstRtspServer", "1.0")
from gi.repository import GLib, Gst, GstRtspServer  # noqa: E402

GRID = 4


def y_plane(index, width, height):
    """Luma rows: grey background, the central square split in 4x4 cells, white for a set bit."""
    side = min(width, height)
    top, left = (height - side) // 2, (width - side) // 2
    cell = side // GRID
    background = bytes([128]) * width
    rows = []
    for r in range(GRID):
        row = bytearray(background)
        for c in range(GRID):
            bit = r * GRID + c
            value = 235 if (index >> bit) & 1 else 16
            row[left + c * cell : left + (c + 1) * cell] = bytes([value]) * cell
        rows.append(bytes(row))
    out = [background] * top
    for r in range(GRID):
        out += [rows[r]] * cell
    out += [background] * (height - len(out))
    return b"".join(out)


class Factory(GstRtspServer.RTSPMediaFactory):
    def __init__(self, fps, width, height):
        super().__init__()
        self.fps, self.width, self.height = fps, width, height
        self.set_shared(False)  # every client gets its own pipeline, starting at frame 0
        self.set_launch(
            f"( appsrc name=src is-live=true format=time "
            f"caps=video/x-raw,format=I420,width={width},height={height},framerate={fps}/1 "
            f"! x264enc tune=zerolatency speed-preset=ultrafast threads=1 key-int-max={fps} "
            f"! rtph264pay name=pay0 pt=96 config-interval=1 )"
        )
        self.connect("media-configure", self.on_configure)

    def on_configure(self, factory, media):
        src = media.get_element().get_child_by_name("src")
        state = {"k": 0}
        chroma = bytes([128]) * (2 * (self.width // 2) * (self.height // 2))
        duration = Gst.SECOND // self.fps

        def need_data(appsrc, _length):
            k = state["k"]
            buf = Gst.Buffer.new_wrapped(y_plane(k % 65536, self.width, self.height) + chroma)
            buf.pts = buf.dts = k * duration
            buf.duration = duration
            state["k"] = k + 1
            appsrc.emit("push-buffer", buf)

        src.connect("need-data", need_data)


def main():
    port = sys.argv[1]
    fps = int(sys.argv[2]) if len(sys.argv) > 2 else 30
    width = int(sys.argv[3]) if len(sys.argv) > 3 else 160
    height = int(sys.argv[4]) if len(sys.argv) > 4 else 96
    Gst.init(None)
    server = GstRtspServer.RTSPServer()
    server.set_address("127.0.0.1")
    server.set_service(port)
    server.get_mount_points().add_factory("/live", Factory(fps, width, height))
    if server.attach(None) == 0:
        print(f"cannot listen on 127.0.0.1:{port}", file=sys.stderr, flush=True)
        return 1
    print(f"serving rtsp://127.0.0.1:{port}/live", flush=True)
    GLib.MainLoop().run()
    return 0


if __name__ == "__main__":
    sys.exit(main())
