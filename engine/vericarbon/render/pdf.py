"""The report as issued, in PDF: the HTML report laid out for print by WeasyPrint (an optional extra:
`pip install 'vericarbon[pdf]'`; it needs Pango, e.g. Debian's libpango-1.0-0 and libpangoft2-1.0-0, and
fonts such as fonts-dejavu-core). Pages carry the document id, version and "Page x of y"."""

from __future__ import annotations

import contextlib
import datetime as dt
import logging
import os
import threading
from typing import Iterator

from vericarbon.errors import InputError
from vericarbon.render import html


def render(result: dict, generated: dt.datetime | None = None) -> bytes:
    try:
        from weasyprint import HTML
    except (ImportError, OSError) as error:  # the extra is not installed, or Pango is missing underneath it
        raise InputError("--format pdf", "PDF output needs the pdf extra, pip install 'vericarbon[pdf]', and Pango "
                         f"(Debian: apt-get install libpango-1.0-0 libpangoft2-1.0-0 fonts-dejavu-core): {error}") from None
    for name in ("weasyprint", "fontTools"):  # their layout notes are not the reader's concern
        logging.getLogger(name).setLevel(logging.ERROR)
    # A fixed file identifier and the generation time as the document's dates (from the HTML's dcterms
    # meta tags): two renderings of one result differ only in that time.
    generated = generated or dt.datetime.now(dt.timezone.utc)
    with _font_clock(generated):
        return HTML(string=html.render(result, generated)).write_pdf(pdf_identifier=b"vericarbon-report")


_clock_lock = threading.Lock()


@contextlib.contextmanager
def _font_clock(generated: dt.datetime) -> Iterator[None]:
    """The generation time as the clock of font subsetting. Without HarfBuzz's subsetter (Debian's
    libharfbuzz-subset0) WeasyPrint subsets with fontTools, which stamps the time of saving into each
    embedded font's `head` table: two renderings a second apart differed there. fontTools reads the time
    from SOURCE_DATE_EPOCH when it is set, and that is a process-wide variable, hence the lock."""
    with _clock_lock:
        previous = os.environ.get("SOURCE_DATE_EPOCH")
        os.environ["SOURCE_DATE_EPOCH"] = str(int(generated.timestamp()))
        try:
            yield
        finally:
            if previous is None:
                del os.environ["SOURCE_DATE_EPOCH"]
            else:
                os.environ["SOURCE_DATE_EPOCH"] = previous
