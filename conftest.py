"""pytest setup for the whole repository (tests/ and nbval over solutions/).

nbval starts its kernels with ``jupyter_client.KernelManager`` (over TCP); here it gets the workbook's
``IPCKernelManager`` instead, so that every kernel the project starts uses IPC (see ``utils.jupyter_kernel``).
"""


def pytest_configure(config):
    try:
        import nbval.kernel
    except ImportError:  # nbval not installed: nothing to configure
        return
    from utils.jupyter_kernel import IPCKernelManager

    nbval.kernel.KernelManager = IPCKernelManager
