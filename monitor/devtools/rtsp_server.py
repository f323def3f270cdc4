"""A real RTSP camera stand-in for the demo, tests and benchmarks (GStreamer rtsp-server, H.264 via x264).

Runs under Debian's ``/usr/bin/python3`` (the venv's Python cannot import ``gi``), started as a
subprocess by ``crowd-monitor demo`` and ``tests/support/rtsp.py``.  Prints ``ready`` on stdout
once it listens.

    /usr/bin/python3 rtsp_server.py PORT [--frames DIR | --file VIDEO] [--size 640x480] [--fps 10]
"""

import argparse
import sys

import gi

gi.require_version("Gst", "1.0")
gi.require_version("GstRtspServer", "1.0")
from gi.repository import GLib, Gst, GstRtspServer  # noqa: E402


def source_pipeline(args: argparse.Namespace) -> str:
    """The raw-video half of the launch line: real frames when given, a test pattern otherwise."""
    if args.frames:
        # multifilesrc is not live: identity sync=true paces it at the declared frame rate.
        return (f"multifilesrc location={args.frames}/{args.pattern} index=1 loop=true"
                f" caps=image/jpeg,framerate={args.fps}/1 ! jpegdec ! videoconvert ! identity sync=true")
    if args.file:
        return (f"filesrc location={args.file} ! decodebin ! videoconvert ! videorate"
                f" ! video/x-raw,framerate={args.fps}/1 ! identity sync=true")
    # Colour bars scrolling sideways: a picture with structure that changes every frame (a black
    # ball pattern would be reported blind: uniform, and a still one frozen).
    return "videotestsrc is-live=true pattern=smpte horizontal-speed=4"


def launch_line(args: argparse.Namespace) -> str:
    """Full launch line: source, scaled to the asked size and rate, H.264, RTP payloader."""
    width, height = (int(v) for v in args.size.split("x"))
    return (f"( {source_pipeline(args)} ! videoscale ! videorate"
            f" ! video/x-raw,format=I420,width={width},height={height},framerate={args.fps}/1"
            f" ! x264enc tune=zerolatency speed-preset=ultrafast key-int-max={args.keyint} threads=1"
            f" ! rtph264pay name=pay0 pt=96 config-interval=1 )")


def main() -> int:
    """Serve ``rtsp://127.0.0.1:PORT/cam`` until killed."""
    parser = argparse.ArgumentParser()
    parser.add_argument("port")
    parser.add_argument("--frames", help="folder of seq_NNNNNN.jpg (the Mall layout)")
    parser.add_argument("--pattern", default="seq_%06d.jpg", help="file names in --frames, numbered from 1")
    parser.add_argument("--file", help="a video file to serve")
    parser.add_argument("--size", default="640x480")
    parser.add_argument("--fps", type=int, default=10)
    parser.add_argument("--keyint", type=int, default=10, help="frames between keyframes")
    args = parser.parse_args()
    Gst.init(None)
    server = GstRtspServer.RTSPServer()
    server.set_address("127.0.0.1")
    server.set_service(args.port)
    factory = GstRtspServer.RTSPMediaFactory()
    factory.set_launch(launch_line(args))
    factory.set_shared(True)
    server.get_mount_points().add_factory("/cam", factory)
    if server.attach(None) == 0:
        print(f"cannot listen on port {args.port}", file=sys.stderr, flush=True)
        return 1
    print("ready", flush=True)
    GLib.MainLoop().run()
    return 0


if __name__ == "__main__":
    sys.exit(main())
