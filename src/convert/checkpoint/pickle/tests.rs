//! The machine on hand-made pickles: data, the memo, refusals, malformed
//! streams, and inputs built to exhaust the stack or the memory.

use super::*;

fn run(bytes: &[u8]) -> Result<(Machine, Value), String> {
    let mut machine = Machine::new();
    let mut input = Input::new(bytes, bytes.len() as u64);
    let value = machine.load(&mut input)?;
    Ok((machine, value))
}

#[test]
fn data_opcodes_build_containers_shared_through_the_memo() {
    // [1, 'a', (2, -1, 2**70)] then a dict {'k': <the same list>} via the memo.
    let mut p =
        b"\x80\x02]q\x00(K\x01X\x01\x00\x00\x00aJ\x02\x00\x00\x00J\xff\xff\xff\xff".to_vec();
    p.extend(b"\x8a\x09\x00\x00\x00\x00\x00\x00\x00\x00\x40\x87e}q\x01X\x01\x00\x00\x00kh\x00s.");
    let (machine, value) = run(&p).unwrap();
    let Some(Object::Dict(items)) = machine.object(value) else {
        panic!("a dict")
    };
    assert_eq!(machine.text(items[0].0), Some("k"));
    let Some(Object::List(list)) = machine.object(items[0].1) else {
        panic!("a list")
    };
    assert_eq!(list[0], Value::Int(1));
    assert_eq!(machine.text(list[1]), Some("a"));
    let Some(Object::Tuple(tuple)) = machine.object(list[2]) else {
        panic!("a tuple")
    };
    assert_eq!(tuple, &[Value::Int(2), Value::Int(-1), Value::Int(1 << 70)]);
}

#[test]
fn python2_strings_fall_back_to_latin1() {
    let (machine, value) = run(b"\x80\x02U\x02\xe9t.").unwrap();
    assert_eq!(machine.text(value), Some("ét"));
}

#[test]
fn globals_outside_the_list_and_code_opcodes_are_refused() {
    let cases: [(&[u8], &str); 7] = [
        (
            b"\x80\x02cposix\nsystem\nX\x04\x00\x00\x00trueq\x00\x85R.",
            "`posix.system`",
        ),
        (b"\x80\x02cbuiltins\neval\n.", "`builtins.eval`"),
        (
            b"\x80\x02X\x01\x00\x00\x00x\x8c\x02osX\x06\x00\x00\x00system\x93.",
            "STACK_GLOBAL",
        ),
        (b"\x80\x02(ios\nsystem\n.", "INST (0x69)"),
        (b"\x80\x02}\x82\x01.", "EXT1 (0x82)"),
        (
            b"\x80\x02ctorch\nFloatStorage\n)R.",
            "calls the storage class of float32",
        ),
        (b"\x80\x02I1\n.", "INT (0x49)"),
    ];
    for (pickle, names) in cases {
        let message = run(pickle).err().expect("refused");
        assert!(message.contains(names), "{message}");
        assert!(!message.contains('\n'), "{message}");
    }
}

#[test]
fn malformed_streams_are_refused_not_panicked_on() {
    let cases: [&[u8]; 12] = [
        b"",
        b"\x80\x02",
        b"\x80\x02.",
        b"\x80\x02t.",
        b"\x80\x02h\x05.",
        b"\x80\x02K\x01a.",
        b"\x80\x02}K\x01u.",
        b"\x80\x02(K\x01K\x02u.",
        b"\x80\x02X\xff\xff\xff\xff.",
        b"\x80\x02\x8d\xff\xff\xff\xff\xff\xff\xff\xff.",
        b"\x80\x02K\x01K\x02R.",
        b"\x80\x02\x8b\xff\xff\xff\xff.",
    ];
    for pickle in cases {
        assert!(run(pickle).is_err(), "{pickle:?}");
    }
}

#[test]
fn deep_nesting_and_cycles_cost_no_recursion() {
    // 200,000 lists each appended into the one before, then a list that holds itself.
    let mut p = b"\x80\x02".to_vec();
    for _ in 0..200_000 {
        p.extend(b"]");
    }
    for _ in 0..199_999 {
        p.extend(b"a");
    }
    p.extend(b"q\x00h\x00a.");
    let (machine, value) = run(&p).unwrap();
    assert_eq!(machine.type_name(value), "a list");
}

#[test]
fn repeating_a_large_container_exhausts_the_budget_not_the_memory() {
    // A list of 5,000 pairs, then OrderedDict(list) built from it 100,000 times
    // through the memo: 5e8 copied values from a ~1 MB pickle.
    let mut p = b"\x80\x02ccollections\nOrderedDict\nq\x00](".to_vec();
    for _ in 0..5_000 {
        p.extend(b"K\x01K\x02\x86");
    }
    p.extend(b"e\x85q\x01");
    for _ in 0..100_000 {
        p.extend(b"h\x00h\x01R0");
    }
    p.extend(b"N.");
    let message = run(&p).err().expect("refused");
    assert!(message.contains("copies more values"), "{message}");
}
