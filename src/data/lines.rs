//! Line numbers of a byte stream read once, front to back, without keeping the stream: a
//! reader that notes where each line terminator is as the bytes pass through it.
//!
//! A line ends at `\n`, at `\r\n`, or at a lone `\r` (the terminators the csv crate accepts).
//! Only the terminators not yet asked about are kept, so memory follows the reader's
//! look-ahead (the csv crate's buffer and the record being read), not the file.

use std::collections::VecDeque;
use std::io::{self, Read};

/// Passes the bytes of `inner` through and counts its lines.
pub struct LineCounter<R> {
    inner: R,
    /// Bytes taken from `inner` (handed out, plus the look-ahead byte).
    pulled: u64,
    /// A byte taken from `inner` to decide a `\r`, not yet handed out.
    peeked: Option<u8>,
    /// The offset of a `\r` that was the last byte pulled: whether `\n` follows is not known.
    open_cr: Option<u64>,
    /// Terminators not yet passed by a query, in order: (first byte, one past the last byte).
    terminators: VecDeque<(u64, u64)>,
    /// Terminators already passed by a query.
    passed: u64,
}

impl<R: Read> LineCounter<R> {
    /// Counts the lines of `inner`.
    pub fn new(inner: R) -> LineCounter<R> {
        LineCounter {
            inner,
            pulled: 0,
            peeked: None,
            open_cr: None,
            terminators: VecDeque::new(),
            passed: 0,
        }
    }

    /// Notes the terminators among `bytes`, the next bytes pulled from `inner` (none: the end).
    fn note(&mut self, bytes: &[u8]) {
        if bytes.is_empty() {
            if let Some(cr) = self.open_cr.take() {
                self.terminators.push_back((cr, cr + 1));
            }
            return;
        }
        for (&byte, offset) in bytes.iter().zip(self.pulled..) {
            if let Some(cr) = self.open_cr.take() {
                if byte == b'\n' {
                    self.terminators.push_back((cr, offset + 1));
                    continue;
                }
                self.terminators.push_back((cr, cr + 1));
            }
            match byte {
                b'\n' => self.terminators.push_back((offset, offset + 1)),
                b'\r' => self.open_cr = Some(offset),
                _ => {}
            }
        }
        self.pulled += bytes.len() as u64;
    }

    /// Makes sure every terminator that starts before `offset` is known: a `\r` just before
    /// it needs the byte after it, which is read ahead and handed out later.
    fn decide(&mut self, offset: u64) -> io::Result<()> {
        if self.open_cr.is_some_and(|cr| cr < offset) && self.peeked.is_none() {
            let mut byte = [0u8; 1];
            let n = loop {
                match self.inner.read(&mut byte) {
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                    other => break other?,
                }
            };
            self.note(&byte[..n]);
            if n == 1 {
                self.peeked = Some(byte[0]);
            }
        }
        Ok(())
    }

    /// The 1-based line of the byte at `offset`. Offsets asked about must not decrease, and
    /// must not be beyond what was read.
    pub fn line_at(&mut self, offset: u64) -> io::Result<u64> {
        self.decide(offset)?;
        while self
            .terminators
            .front()
            .is_some_and(|&(_, end)| end <= offset)
        {
            self.terminators.pop_front();
            self.passed += 1;
        }
        Ok(self.passed + 1)
    }

    /// The 1-based line of the first byte at or after `offset` that is not a line terminator:
    /// where a record starts when `offset` is where the previous one ended.
    pub fn content_line_at(&mut self, offset: u64) -> io::Result<u64> {
        let mut at = offset;
        loop {
            self.decide(at + 1)?;
            // `at` may be inside a terminator: a record's position can be the `\n` of a CRLF.
            match self.terminators.iter().find(|&&(_, end)| end > at) {
                Some(&(start, end)) if start <= at => at = end,
                _ => break,
            }
        }
        self.line_at(at)
    }
}

impl<R: Read> Read for LineCounter<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if buf.is_empty() {
            return Ok(0);
        }
        if let Some(byte) = self.peeked.take() {
            buf[0] = byte;
            return Ok(1);
        }
        let n = self.inner.read(buf)?;
        self.note(&buf[..n]);
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The line of `offset` counted from the whole text, as the reader kept in memory did.
    fn line_in(bytes: &[u8], offset: usize) -> u64 {
        let mut line = 1;
        for at in 0..offset.min(bytes.len()) {
            match bytes[at] {
                b'\n' => line += 1,
                b'\r' if bytes.get(at + 1) != Some(&b'\n') => line += 1,
                _ => {}
            }
        }
        line
    }

    /// Reads `bytes` through a counter in chunks of `chunk` bytes, asking the line of every
    /// offset as soon as it has been handed out.
    fn lines_streamed(bytes: &[u8], chunk: usize) -> Vec<u64> {
        let mut counter = LineCounter::new(bytes);
        let mut lines = Vec::new();
        let mut buf = vec![0u8; chunk];
        let mut handed = 0u64;
        loop {
            let n = counter.read(&mut buf).unwrap();
            for offset in handed + 1..=handed + n as u64 {
                lines.push(counter.line_at(offset).unwrap());
            }
            handed += n as u64;
            if n == 0 {
                break;
            }
        }
        lines
    }

    #[test]
    fn every_offset_gets_the_line_the_whole_text_gives() {
        let texts: [&[u8]; 6] = [
            b"a,b\n1,2\n",
            b"a,b\r\n\r\n1,2\r\n3,x\r\n",
            b"a,b\r1,2\r\r3,x\r",
            b"\r\r\n\n\r",
            b"x\"1\n\",2\r",
            b"",
        ];
        for text in texts {
            for chunk in [1, 2, 3, 7, 64] {
                let expected: Vec<u64> = (1..=text.len()).map(|o| line_in(text, o)).collect();
                assert_eq!(
                    lines_streamed(text, chunk),
                    expected,
                    "{:?} in chunks of {chunk}",
                    String::from_utf8_lossy(text)
                );
            }
        }
    }

    #[test]
    fn a_cr_at_a_chunk_end_waits_for_the_next_byte() {
        // "a\r" then "\nb": the \r is half of a CRLF, so "b" is on line 2, not 3.
        let mut counter = LineCounter::new(&b"a\r\nb"[..]);
        let mut buf = [0u8; 2];
        assert_eq!(counter.read(&mut buf).unwrap(), 2);
        assert_eq!(counter.line_at(2).unwrap(), 1);
        let mut rest = Vec::new();
        counter.read_to_end(&mut rest).unwrap();
        assert_eq!(rest, b"\nb", "the byte read ahead is handed out once");
        assert_eq!(counter.line_at(3).unwrap(), 2);
        assert_eq!(counter.line_at(4).unwrap(), 2);
    }

    #[test]
    fn content_lines_skip_the_terminators_after_a_record() {
        let text = b"a,b\r\n\r\n\n1,2\rx";
        let mut counter = LineCounter::new(&text[..]);
        let mut all = Vec::new();
        counter.read_to_end(&mut all).unwrap();
        assert_eq!(counter.content_line_at(0).unwrap(), 1);
        // From the end of the header, past CRLF, CRLF and LF, to "1,2" on line 4.
        assert_eq!(counter.content_line_at(3).unwrap(), 4);
        // Past the lone CR to "x" on line 5.
        assert_eq!(counter.content_line_at(11).unwrap(), 5);
    }

    #[test]
    fn a_content_line_from_inside_a_crlf_is_the_next_line() {
        let text = b"1,2\r\n3,x";
        let mut counter = LineCounter::new(&text[..]);
        let mut all = Vec::new();
        counter.read_to_end(&mut all).unwrap();
        assert_eq!(counter.content_line_at(4).unwrap(), 2);
    }

    #[test]
    fn only_terminators_ahead_of_the_queries_are_kept() {
        let text = b"1\n".repeat(10_000);
        let mut counter = LineCounter::new(&text[..]);
        let mut buf = [0u8; 100];
        let mut handed = 0u64;
        loop {
            let n = counter.read(&mut buf).unwrap();
            if n == 0 {
                break;
            }
            handed += n as u64;
            assert_eq!(counter.line_at(handed).unwrap(), handed / 2 + 1);
            assert!(
                counter.terminators.len() <= 1,
                "{}",
                counter.terminators.len()
            );
        }
    }
}
