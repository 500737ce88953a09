"""What kernel tests do to a started kernel manager (forked, plain or sandboxed)."""

import asyncio


async def interrupt_a_loop(km) -> dict:
    """Run an endless loop in the kernel, interrupt it the way nbclient does; the execute reply's content."""
    kc = km.client()
    kc.start_channels()
    await kc.wait_for_ready(timeout=30)
    msg_id = kc.execute("import time\nwhile True: time.sleep(0.01)")
    await asyncio.sleep(0.5)
    await km.interrupt_kernel()
    while True:
        reply = await kc.get_shell_msg(timeout=10)
        if reply["parent_header"].get("msg_id") == msg_id:
            kc.stop_channels()
            return reply["content"]
